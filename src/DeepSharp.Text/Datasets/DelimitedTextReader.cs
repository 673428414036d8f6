using System.Text;

namespace DeepSharp.Text.Datasets;

/// <summary>One record of a CSV or TSV file: its fields and the line it starts on (1-based).</summary>
/// <param name="Line">The line number (1-based) where the record starts.</param>
/// <param name="Fields">The fields, unquoted.</param>
public readonly record struct DelimitedRecord(int Line, string[] Fields);

/// <summary>
/// Reads delimiter-separated records (Python's <c>csv.reader</c>). With <c>quoting</c> (CSV, RFC 4180), a field may be
/// enclosed in double quotes, inside which delimiters and line breaks are literal and <c>""</c> is one quote; a quote
/// inside an unquoted field is literal. Without quoting (the usual TSV), a record is one line split at every delimiter.
/// Line breaks are <c>\n</c> or <c>\r\n</c>; blank lines are skipped.
/// </summary>
public static class DelimitedTextReader
{
    /// <summary>The records of <paramref name="reader"/>. An unterminated quoted field throws InvalidDataException naming its line.</summary>
    public static IEnumerable<DelimitedRecord> Read(TextReader reader, char delimiter = ',', bool quoting = true)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (delimiter is '"' or '\n' or '\r')
            throw new ArgumentException($"DelimitedTextReader: the delimiter may not be a quote or a line break (got U+{(int)delimiter:X4})", nameof(delimiter));
        return quoting ? ReadQuoted(reader, delimiter) : ReadPlain(reader, delimiter);
    }

    /// <summary>The records of a UTF-8 file (see <see cref="Read(TextReader, char, bool)"/>).</summary>
    public static List<DelimitedRecord> ReadFile(string path, char delimiter = ',', bool quoting = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"DelimitedTextReader: no file at '{path}'", path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return [.. Read(reader, delimiter, quoting)];
    }

    static IEnumerable<DelimitedRecord> ReadPlain(TextReader reader, char delimiter)
    {
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0) continue;
            yield return new DelimitedRecord(lineNumber, line.Split(delimiter));
        }
    }

    static IEnumerable<DelimitedRecord> ReadQuoted(TextReader reader, char delimiter)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1;
        bool inQuotes = false, fieldStarted = false, quotedField = false;
        while (true)
        {
            int read = reader.Read();
            if (inQuotes)
            {
                if (read < 0) throw new InvalidDataException($"DelimitedTextReader: the quoted field that starts on line {recordLine} is never closed");
                char q = (char)read;
                if (q == '"')
                {
                    if (reader.Peek() == '"') { reader.Read(); field.Append('"'); }
                    else inQuotes = false;
                }
                else
                {
                    if (q == '\n') line++;
                    field.Append(q);
                }
                continue;
            }
            if (read < 0 || read == '\n' || (read == '\r' && reader.Peek() is '\n' or -1))
            {
                if (read == '\r') reader.Read();
                if (fieldStarted || fields.Count > 0)
                {
                    fields.Add(field.ToString());
                    yield return new DelimitedRecord(recordLine, [.. fields]);
                }
                fields.Clear(); field.Clear();
                fieldStarted = quotedField = false;
                if (read < 0) yield break;
                line++;
                recordLine = line;
                continue;
            }
            char c = (char)read;
            if (c == delimiter)
            {
                fields.Add(field.ToString());
                field.Clear();
                fieldStarted = true;                      // a delimiter means the record has at least two fields
                quotedField = false;
            }
            else if (c == '"' && field.Length == 0 && !quotedField)
            {
                inQuotes = quotedField = fieldStarted = true;
            }
            else
            {
                field.Append(c);
                fieldStarted = true;
            }
        }
    }
}
