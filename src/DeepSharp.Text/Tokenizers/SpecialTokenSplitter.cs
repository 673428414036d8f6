namespace DeepSharp.Text;

/// <summary>
/// Splits a text around the occurrences of special-token strings (like tiktoken's <c>allowed_special</c> handling):
/// the leftmost occurrence wins, and of several starting at the same place the longest.
/// </summary>
static class SpecialTokenSplitter
{
    /// <summary>Calls <paramref name="onText"/> for each run of ordinary text (never empty) and <paramref name="onSpecial"/>
    /// for each special token, in order.</summary>
    internal static void Split(string text, IReadOnlyDictionary<string, int> specials, Action<int, int> onText, Action<int> onSpecial)
    {
        if (specials.Count == 0)
        {
            if (text.Length > 0) onText(0, text.Length);
            return;
        }
        var tokens = new string[specials.Count];
        var ids = new int[specials.Count];
        var next = new int[specials.Count];
        int k = 0;
        foreach (var (token, id) in specials) { tokens[k] = token; ids[k] = id; next[k] = text.IndexOf(token, StringComparison.Ordinal); k++; }
        int position = 0;
        while (true)
        {
            int best = -1;
            for (int i = 0; i < tokens.Length; i++)
            {
                if (next[i] < 0) continue;
                if (best < 0 || next[i] < next[best] || (next[i] == next[best] && tokens[i].Length > tokens[best].Length)) best = i;
            }
            if (best < 0) break;
            int at = next[best];
            if (at > position) onText(position, at - position);
            onSpecial(ids[best]);
            position = at + tokens[best].Length;
            for (int i = 0; i < tokens.Length; i++)
                if (next[i] >= 0 && next[i] < position) next[i] = text.IndexOf(tokens[i], position, StringComparison.Ordinal);
        }
        if (position < text.Length) onText(position, text.Length - position);
    }
}
