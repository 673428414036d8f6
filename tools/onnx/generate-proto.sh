#!/usr/bin/env bash
# Regenerates src/DeepSharp.Onnx/Proto/Onnx.g.cs from src/DeepSharp.Onnx/Proto/onnx.proto3 with the protoc of the
# Google.Protobuf.Tools NuGet package (the same version as the Google.Protobuf runtime the project references).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
version=3.36.2
tools="${NUGET_PACKAGES:-$HOME/.nuget/packages}/google.protobuf.tools/$version/tools"
if [ ! -x "$tools/linux_x64/protoc" ]; then
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  printf '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup><ItemGroup><PackageReference Include="Google.Protobuf.Tools" Version="%s" /></ItemGroup></Project>' "$version" > "$tmp/restore.csproj"
  dotnet restore "$tmp/restore.csproj" >/dev/null
  chmod +x "$tools/linux_x64/protoc"
fi
proto="$root/src/DeepSharp.Onnx/Proto"
"$tools/linux_x64/protoc" --proto_path="$proto" --csharp_out="$proto" --csharp_opt=file_extension=.g.cs onnx.proto3
echo "wrote $proto/Onnx.g.cs"
