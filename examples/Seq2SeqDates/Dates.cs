using System.Globalization;
using DeepSharp;

/// <summary>
/// Synthetic date-translation data: a date written one of several human ways ("twelfth of March 2021",
/// "March 12, 2021", "12/03/2021", "Friday, 12 March 2021", "March the twelfth, twenty twenty-one", ...) and its ISO
/// form "2021-03-12". Dates run from 1950 to 2049; a seeded tenth of them is held out for testing, so test dates never
/// appear in training in any format.
/// </summary>
public static class Dates
{
    /// <summary>First and last date generated.</summary>
    public static readonly DateOnly First = new(1950, 1, 1), Last = new(2049, 12, 31);

    /// <summary>Every character a source may contain.</summary>
    public const string SourceAlphabet = " ,-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>Every character of an ISO date.</summary>
    public const string TargetAlphabet = "-0123456789";

    /// <summary>Length of an ISO date (yyyy-mm-dd).</summary>
    public const int TargetLength = 10;

    /// <summary>Number of source formats.</summary>
    public const int FormatCount = 10;

    static readonly string[] Ones = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"];
    static readonly string[] Tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
    static readonly string[] OrdinalOnes = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
        "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth"];

    /// <summary>1 → "one", 21 → "twenty-one" (1 to 99).</summary>
    public static string Cardinal(int n) => n < 20 ? Ones[n] : Tens[n / 10] + (n % 10 == 0 ? "" : "-" + Ones[n % 10]);

    /// <summary>1 → "first", 12 → "twelfth", 20 → "twentieth", 31 → "thirty-first" (1 to 99).</summary>
    public static string Ordinal(int n) => n < 20 ? OrdinalOnes[n]
        : n % 10 == 0 ? Tens[n / 10][..^1] + "ieth" : Tens[n / 10] + "-" + OrdinalOnes[n % 10];

    /// <summary>"nineteen oh five", "nineteen ninety-nine", "two thousand", "two thousand and seven", "twenty twenty-one" or
    /// "two thousand twenty-one" (the style picked by <paramref name="style"/>).</summary>
    public static string YearWords(int year, int style)
    {
        int century = year / 100, rest = year % 100;
        if (century == 19) return "nineteen " + (rest == 0 ? "hundred" : rest < 10 ? "oh " + Ones[rest] : Cardinal(rest));
        if (rest == 0) return "two thousand";
        if (rest < 10) return style % 2 == 0 ? "two thousand and " + Ones[rest] : "two thousand " + Ones[rest];
        return style % 2 == 0 ? "twenty " + Cardinal(rest) : "two thousand " + Cardinal(rest);
    }

    static string Suffix(int day) => (day % 10, day / 10 == 1) switch { (1, false) => "st", (2, false) => "nd", (3, false) => "rd", _ => "th" };

    /// <summary>The date written in format <paramref name="format"/> (0 to <see cref="FormatCount"/> − 1); words in
    /// the casing picked by <paramref name="casing"/> (0 as written, 1 lower case, 2 upper case).</summary>
    public static string Format(DateOnly date, int format, int casing = 0, int yearStyle = 0)
    {
        var culture = CultureInfo.InvariantCulture;
        string month = culture.DateTimeFormat.GetMonthName(date.Month), mon = month[..3];
        string weekday = culture.DateTimeFormat.GetDayName(date.DayOfWeek), wkd = weekday[..3];
        int d = date.Day, m = date.Month, y = date.Year;
        string text = format switch
        {
            0 => $"{Ordinal(d)} of {month} {y}",                          // twelfth of March 2021
            1 => $"{month} {d}, {y}",                                     // March 12, 2021
            2 => $"{d:00}/{m:00}/{y}",                                    // 12/03/2021
            3 => $"{weekday}, {d} {month} {y}",                           // Friday, 12 March 2021
            4 => $"{d}{Suffix(d)} {mon} {y}",                             // 12th Mar 2021
            5 => $"{month} the {Ordinal(d)}, {YearWords(y, yearStyle)}",  // March the twelfth, twenty twenty-one
            6 => $"{d}.{m}.{y}",                                          // 12.3.2021
            7 => $"{wkd} {mon} {d} {y}",                                  // Fri Mar 12 2021
            8 => $"the {Ordinal(d)} of {month}, {YearWords(y, yearStyle)}", // the twelfth of March, two thousand twenty-one
            9 => $"{Cardinal(d)} {month} {y}",                            // twelve March 2021
            _ => throw new ArgumentOutOfRangeException(nameof(format), $"Dates.Format: format must be in [0, {FormatCount}), got {format}"),
        };
        return casing switch { 1 => text.ToLowerInvariant(), 2 => text.ToUpperInvariant(), _ => text };
    }

    /// <summary>yyyy-mm-dd.</summary>
    public static string Iso(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Every date of the range split by a shuffle seeded with <paramref name="seed"/>: a tenth for testing.</summary>
    public static (DateOnly[] Train, DateOnly[] Test) SplitDates(long seed = 0)
    {
        int days = Last.DayNumber - First.DayNumber + 1;
        var all = Enumerable.Range(0, days).Select(i => First.AddDays(i)).ToArray();
        var rng = new Generator(seed);
        for (int i = all.Length - 1; i > 0; i--)
        {
            int j = (int)rng.NextInt64(0, i + 1);
            (all[i], all[j]) = (all[j], all[i]);
        }
        int test = days / 10;
        return (all[test..], all[..test]);
    }

    /// <summary><paramref name="count"/> random (source, ISO target) pairs: dates from <paramref name="dates"/>, random format,
    /// casing and year style, all drawn from <paramref name="rng"/>.</summary>
    public static (string Source, string Target)[] Sample(DateOnly[] dates, int count, Generator rng)
    {
        var pairs = new (string, string)[count];
        for (int i = 0; i < count; i++)
        {
            var date = dates[rng.NextInt64(0, dates.Length)];
            int format = (int)rng.NextInt64(0, FormatCount), casing = (int)rng.NextInt64(0, 3), yearStyle = (int)rng.NextInt64(0, 2);
            pairs[i] = (Format(date, format, casing, yearStyle), Iso(date));
        }
        return pairs;
    }
}
