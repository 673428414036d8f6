using System.Text.Json;

namespace DeepSharp.Vision.Tests.Models;

/// <summary>The reference fixture written by tools/golden/vision_models.py (torchvision 0.14).</summary>
public static class ZooFixture
{
    static readonly Lazy<JsonDocument> document = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "vision_models.json"))));

    public static JsonElement Root => document.Value.RootElement;

    public static JsonElement Architecture(string name) => Root.GetProperty("architectures").GetProperty(name);

    public static JsonElement Case(string name) => Root.GetProperty("cases").GetProperty(name);

    public static IEnumerable<string> ArchitectureNames => Root.GetProperty("architectures").EnumerateObject().Select(p => p.Name);

    public static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    public static int[] Ints(JsonElement e) => e.EnumerateArray().Select(v => v.GetInt32()).ToArray();

    /// <summary>(key, shape) pairs in state-dict order.</summary>
    public static List<(string Key, int[] Shape)> Keys(string architecture) =>
        Architecture(architecture).GetProperty("keys").EnumerateArray()
            .Select(e => (e[0].GetString()!, Ints(e[1]))).ToList();
}
