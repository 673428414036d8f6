// Shared by the example programs (linked into each csproj): reads "--train-images 6000 --methods a,b --out dir" into an
// options record, one dashed option per property (TrainImages -> --train-images), so each example lists its options
// once, as the record's properties with their defaults.
using System.Globalization;
using System.Reflection;

/// <summary>Command-line options of an example program, read into a record of init properties.</summary>
internal static class ExampleOptions
{
    /// <summary>
    /// A <typeparamref name="T"/> with its defaults, then each "--name value" pair of <paramref name="args"/> set on the
    /// property of that dashed name (int, long, double, bool, string, their nullable forms, and comma-separated arrays of
    /// them). <paramref name="aliases"/> maps extra option names to property names ("--data" → DataDir).
    /// </summary>
    public static T Parse<T>(string[] args, string example, IReadOnlyDictionary<string, string>? aliases = null) where T : new()
    {
        var properties = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetIndexParameters().Length == 0)
            .ToDictionary(p => "--" + Dashed(p.Name));
        foreach (var (alias, property) in aliases ?? new Dictionary<string, string>())
            properties[alias] = typeof(T).GetProperty(property) ?? throw new ArgumentException($"{example}: alias {alias} names no property {property}");
        var options = new T();
        for (int i = 0; i < args.Length; i += 2)
        {
            if (!properties.TryGetValue(args[i], out var property))
                throw new ArgumentException($"{example}: unknown option '{args[i]}'; the options are {string.Join(", ", properties.Keys.Order())}", nameof(args));
            if (i + 1 >= args.Length)
                throw new ArgumentException($"{example}: option {args[i]} needs a value", nameof(args));
            try { property.SetValue(options, Convert(args[i + 1], property.PropertyType)); }
            catch (FormatException) { throw new ArgumentException($"{example}: option {args[i]} takes {Describe(property.PropertyType)}, not '{args[i + 1]}'", nameof(args)); }
            catch (OverflowException) { throw new ArgumentException($"{example}: option {args[i]} is out of range: '{args[i + 1]}'", nameof(args)); }
        }
        return options;
    }

    private static object? Convert(string text, Type type)
    {
        if (type.IsArray)
        {
            var element = type.GetElementType()!;
            var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var array = Array.CreateInstance(element, parts.Length);
            for (int k = 0; k < parts.Length; k++) array.SetValue(Convert(parts[k], element), k);
            return array;
        }
        var inner = Nullable.GetUnderlyingType(type) ?? type;
        if (inner == typeof(string)) return text;
        if (inner == typeof(bool)) return bool.Parse(text);
        if (inner == typeof(int)) return int.Parse(text, CultureInfo.InvariantCulture);
        if (inner == typeof(long)) return long.Parse(text, CultureInfo.InvariantCulture);
        if (inner == typeof(double))
        {
            double v = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            return double.IsFinite(v) ? v : throw new FormatException();
        }
        throw new NotSupportedException($"an option of type {type.Name}");
    }

    private static string Describe(Type type) =>
        type.IsArray ? $"a comma-separated list of {Describe(type.GetElementType()!)}" : (Nullable.GetUnderlyingType(type) ?? type).Name switch
        {
            "Int32" or "Int64" => "an integer",
            "Double" => "a finite number",
            "Boolean" => "true or false",
            var name => name,
        };

    private static string Dashed(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
