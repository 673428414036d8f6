#!/usr/bin/env bash
# A longer fuzzing run of the image decoders (JPEG, PNG, BMP, GIF, PNM) than the test suite's few seconds:
#   tools/fuzz_images.sh [SECONDS]   (default 600)
# Inputs that crash a decoder (any exception but InvalidDataException) or take over 2 s are written to
# fuzz-findings/ and the run stops; copy them to tests/DeepSharp.Vision.Tests/Fixtures/fuzz/ as regression inputs
# (RegressionInputsFailCleanly replays that folder) once the decoder is fixed. The mutation stream is seeded: the same
# duration gives the same inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
mkdir -p fuzz-findings
dotnet build tests/DeepSharp.Vision.Tests -c Release --nologo -v quiet -clp:ErrorsOnly
DEEPSHARP_FUZZ_SECONDS="$seconds" DEEPSHARP_FUZZ_OUT="$PWD/fuzz-findings" \
  dotnet test tests/DeepSharp.Vision.Tests -c Release --no-build --filter "FullyQualifiedName~ImageFuzzTests.MutatedFiles" \
  --logger "console;verbosity=detailed"
