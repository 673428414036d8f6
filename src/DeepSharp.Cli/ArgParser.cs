namespace DeepSharp.Cli;

/// <summary>A user mistake on the command line: printed as one line with what to do, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// A small, strict parser for "--name value", "--name=value" and "--flag": unknown flags, missing values and values of
/// the wrong type are errors that say what was expected.
/// </summary>
public sealed class ArgParser
{
    readonly string command;
    readonly Dictionary<string, string?> values = new();
    readonly List<string> positionals = new();
    readonly HashSet<string> known;
    readonly HashSet<string> flags;

    /// <summary>Parses <paramref name="args"/> for <paramref name="command"/>, accepting the given options and boolean flags.</summary>
    public ArgParser(string command, string[] args, IEnumerable<string> options, IEnumerable<string>? booleanFlags = null)
    {
        this.command = command;
        flags = new HashSet<string>(booleanFlags ?? []);
        known = new HashSet<string>(options.Concat(flags)) { "help" };
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--")) { positionals.Add(a); continue; }
            string name = a[2..]; string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            if (!known.Contains(name))
                throw new UsageException($"deepsharp {command}: unknown option --{name}. Run 'deepsharp {command} --help' to see the options.");
            if (flags.Contains(name) || name == "help") { values[name] = value ?? "true"; continue; }
            if (value == null)
            {
                if (i + 1 >= args.Length || args[i + 1].StartsWith("--"))
                    throw new UsageException($"deepsharp {command}: option --{name} needs a value, e.g. --{name} VALUE.");
                value = args[++i];
            }
            values[name] = value;
        }
    }

    /// <summary>True when --help was given.</summary>
    public bool Help => values.ContainsKey("help");
    /// <summary>Arguments that are not options, in order.</summary>
    public IReadOnlyList<string> Positionals => positionals;
    /// <summary>True when the option or flag was given.</summary>
    public bool Has(string name) => values.ContainsKey(name);
    /// <summary>A boolean flag.</summary>
    public bool Flag(string name) => values.TryGetValue(name, out var v) && v is "true" or "1" or "yes";

    /// <summary>A string option, or <paramref name="fallback"/>; restricted to <paramref name="allowed"/> when given.</summary>
    public string String(string name, string fallback, params string[] allowed)
    {
        var v = values.TryGetValue(name, out var s) && s != null ? s : fallback;
        if (allowed.Length > 0 && !allowed.Contains(v))
            throw new UsageException($"deepsharp {command}: --{name} must be one of {string.Join(", ", allowed)} (got '{v}').");
        return v;
    }

    /// <summary>An optional string option.</summary>
    public string? OptionalString(string name) => values.TryGetValue(name, out var s) ? s : null;

    /// <summary>An integer option within [min, max].</summary>
    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        if (!values.TryGetValue(name, out var s) || s == null) return fallback;
        if (!int.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v))
            throw new UsageException($"deepsharp {command}: --{name} must be a whole number (got '{s}').");
        if (v < min || v > max)
            throw new UsageException($"deepsharp {command}: --{name} must be between {min} and {max} (got {v}).");
        return v;
    }

    /// <summary>A finite floating-point option of at least <paramref name="min"/>: NaN, ±Infinity and values that overflow (1e400) are refused.</summary>
    public double Double(string name, double fallback, double min = double.MinValue)
    {
        if (!values.TryGetValue(name, out var s) || s == null) return fallback;
        if (!double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v))
            throw new UsageException($"deepsharp {command}: --{name} must be a number (got '{s}').");
        if (!double.IsFinite(v))
            throw new UsageException($"deepsharp {command}: --{name} must be a finite number (got '{s}', which is {(double.IsNaN(v) ? "not a number" : "infinite")}).");
        if (v < min) throw new UsageException($"deepsharp {command}: --{name} must be at least {min} (got {v}).");
        return v;
    }
}
