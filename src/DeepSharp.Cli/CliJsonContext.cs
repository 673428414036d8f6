using System.Text.Json.Serialization;
using DeepSharp.Cli.Commands;

namespace DeepSharp.Cli;

/// <summary>
/// The JSON contracts of the command line, generated at compile time so that the Native AOT build
/// (docs/packaging.md) reads and writes the same files as the JIT one.
/// </summary>
[JsonSerializable(typeof(RunResume.RunRecord))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, double>))]
[JsonSerializable(typeof(List<Dictionary<string, object>>))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(string))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
