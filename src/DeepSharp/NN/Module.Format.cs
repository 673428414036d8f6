using System.Globalization;
using System.Text;

namespace DeepSharp.NN;

// Printing a module the way print(model) does in PyTorch.
public abstract partial class Module
{
    /// <summary>
    /// The layer's settings shown inside its parentheses, e.g. "in_features=784, out_features=10, bias=True"
    /// (torch.nn.Module.extra_repr). Empty by default.
    /// </summary>
    public virtual string ExtraRepr() => "";

    /// <summary>The class name without generic arity (torch.nn.Module._get_name()).</summary>
    protected virtual string DisplayName
    {
        get
        {
            var n = GetType().Name;
            int tick = n.IndexOf('`');
            return tick < 0 ? n : n[..tick];
        }
    }

    /// <summary>The nested description PyTorch's print(model) shows (torch.nn.Module.__repr__).</summary>
    public override string ToString()
    {
        var extra = ExtraRepr();
        var lines = new List<string>();
        if (extra.Length > 0) lines.AddRange(extra.Split('\n'));
        int extraCount = lines.Count;
        foreach (var (name, child) in OwnModules())
            lines.Add($"({name}): " + child.ToString().Replace("\n", "\n  "));
        var sb = new StringBuilder(DisplayName).Append('(');
        if (lines.Count == 1 && extraCount == 1) sb.Append(lines[0]);
        else if (lines.Count > 0) sb.Append("\n  ").AppendJoin("\n  ", lines).Append('\n');
        return sb.Append(')').ToString();
    }

    /// <summary>
    /// <see cref="ToString"/> followed by a line with the total and trainable parameter counts
    /// (what torchinfo/Keras summaries end with), e.g. "Total params: 101,770 | Trainable params: 101,770".
    /// </summary>
    public string Summary()
    {
        long total = ParameterCount(), trainable = ParameterCount(trainableOnly: true);
        return ToString() + "\n" + string.Format(CultureInfo.InvariantCulture,
            "Total params: {0:N0} | Trainable params: {1:N0} | Non-trainable params: {2:N0}", total, trainable, total - trainable);
    }

    /// <summary>A double as Python's repr prints it (0.1, 1e-05, 1.0), for <see cref="ExtraRepr"/>.</summary>
    protected internal static string PyFloat(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        var s = v.ToString("R", CultureInfo.InvariantCulture);
        if (s.Contains('E')) return s.Replace("E", "e");
        return s.Contains('.') ? s : s + ".0";
    }

    /// <summary>A bool as Python prints it (True/False).</summary>
    protected internal static string PyBool(bool b) => b ? "True" : "False";

    /// <summary>A tuple as Python prints it: (3,) or (3, 3).</summary>
    protected internal static string PyTuple(params int[] values) => ShapeUtil.Format(values);
}
