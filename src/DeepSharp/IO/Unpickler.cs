using System.Buffers.Binary;
using System.Text;

namespace DeepSharp.IO;

/// <summary>A global (module.name) that a pickle asked for and the allow-list admitted.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>An object built by REDUCE/NEWOBJ from an allowed global that the caller did not turn into a value.</summary>
internal sealed record PickleCall(PickleGlobal Callable, object?[] Arguments);

/// <summary>
/// A dictionary as a pickle builds it: insertion-ordered, keys compared by value (strings, numbers). Python's dict and
/// OrderedDict both land here; <see cref="Attributes"/> holds what BUILD set on it (a state dict's <c>_metadata</c>).
/// </summary>
internal sealed class PickleDict
{
    readonly Dictionary<object, int> positions = [];

    public List<KeyValuePair<object, object?>> Items { get; } = [];
    public Dictionary<string, object?> Attributes { get; } = [];

    public void Set(object? key, object? value)
    {
        if (key is null) throw new InvalidDataException("pickle: a dictionary key is None");
        if (positions.TryGetValue(key, out int at)) Items[at] = new(key, value);
        else { positions[key] = Items.Count; Items.Add(new(key, value)); }
    }
}

/// <summary>
/// A restricted unpickler for protocols 0-5 as far as torch.save uses them (the spirit of
/// <c>torch.load(weights_only=True)</c>): it builds only plain data (None, bool, int, float, str, bytes, tuple, list,
/// dict) and calls nothing. A GLOBAL/STACK_GLOBAL must pass <c>allowGlobal</c>; REDUCE, NEWOBJ and persistent ids are
/// handed to the caller's callbacks, which decide what an allowed global builds. Anything else (an unknown opcode, a
/// global outside the allow-list, a malformed stream) throws <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class Unpickler(Stream stream, Func<PickleGlobal, bool> allowGlobal, Func<object?, object?> persistentLoad,
                                Func<PickleGlobal, object?[], object?> reduce)
{
    readonly BinaryReader reader = new(stream, Encoding.UTF8, leaveOpen: true);
    readonly List<object?> stack = [];
    readonly Stack<int> marks = new();
    readonly Dictionary<long, object?> memo = [];
    static readonly object Mark = new();

    /// <summary>Reads one pickle up to its STOP and returns the object it describes.</summary>
    public object? Load()
    {
        while (true)
        {
            int op = stream.ReadByte();
            if (op < 0) throw new InvalidDataException("pickle: the stream ended before STOP");
            if (op == '.') return stack.Count == 1 ? stack[0] : throw new InvalidDataException($"pickle: STOP with {stack.Count} objects on the stack");
            Step((byte)op);
        }
    }

    void Step(byte op)
    {
        switch (op)
        {
            case 0x80: reader.ReadByte(); break;                                           // PROTO
            case 0x95: reader.ReadInt64(); break;                                          // FRAME (the framing is not needed to read)
            case (byte)'(': marks.Push(stack.Count); break;                                // MARK
            case (byte)'N': Push(null); break;
            case 0x88: Push(true); break;                                                  // NEWTRUE
            case 0x89: Push(false); break;                                                 // NEWFALSE
            case (byte)'K': Push((long)reader.ReadByte()); break;                          // BININT1
            case (byte)'M': Push((long)reader.ReadUInt16()); break;                        // BININT2
            case (byte)'J': Push((long)reader.ReadInt32()); break;                         // BININT
            case 0x8a: Push(ReadLong(reader.ReadByte())); break;                           // LONG1
            case 0x8b: Push(ReadLong(Count(reader.ReadInt32()))); break;                   // LONG4 (a long, or a BigInteger past 64 bits)
            case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(reader.ReadBytes(8))); break;   // BINFLOAT
            case (byte)'X': Push(ReadUtf8(Count(reader.ReadInt32()))); break;              // BINUNICODE
            case 0x8c: Push(ReadUtf8(reader.ReadByte())); break;                           // SHORT_BINUNICODE
            case 0x8d: Push(ReadUtf8(Count(reader.ReadInt64()))); break;                   // BINUNICODE8
            case (byte)'T': Push(ReadLatin1(Count(reader.ReadInt32()))); break;            // BINSTRING
            case (byte)'U': Push(ReadLatin1(reader.ReadByte())); break;                    // SHORT_BINSTRING
            case (byte)'B': Push(ReadBytes(Count(reader.ReadInt32()))); break;             // BINBYTES
            case (byte)'C': Push(ReadBytes(reader.ReadByte())); break;                     // SHORT_BINBYTES
            case 0x8e: Push(ReadBytes(Count(reader.ReadInt64()))); break;                  // BINBYTES8
            case (byte)')': Push(Array.Empty<object?>()); break;                           // EMPTY_TUPLE
            case (byte)'t': Push(PopToMark().ToArray()); break;                            // TUPLE
            case 0x85: Push(new[] { Pop() }); break;                                       // TUPLE1
            case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }      // TUPLE2
            case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; }   // TUPLE3
            case (byte)']': Push(new List<object?>()); break;                              // EMPTY_LIST
            case (byte)'l': Push(PopToMark()); break;                                      // LIST
            case (byte)'a': { var item = Pop(); Top<List<object?>>("APPEND").Add(item); break; }
            case (byte)'e': { var items = PopToMark(); Top<List<object?>>("APPENDS").AddRange(items); break; }
            case (byte)'}': Push(new PickleDict()); break;                                 // EMPTY_DICT
            case (byte)'d': Push(DictFrom(PopToMark())); break;                            // DICT
            case (byte)'s': { var v = Pop(); var k = Pop(); Top<PickleDict>("SETITEM").Set(k, v); break; }
            case (byte)'u': { var kv = PopToMark(); var d = Top<PickleDict>("SETITEMS"); for (int i = 0; i + 1 < kv.Count; i += 2) d.Set(kv[i], kv[i + 1]); break; }
            case (byte)'q': Memoize(reader.ReadByte()); break;                             // BINPUT
            case (byte)'r': Memoize(reader.ReadUInt32()); break;                           // LONG_BINPUT
            case 0x94: Memoize(memo.Count); break;                                         // MEMOIZE
            case (byte)'h': Push(Recall(reader.ReadByte())); break;                        // BINGET
            case (byte)'j': Push(Recall(reader.ReadUInt32())); break;                      // LONG_BINGET
            case (byte)'c': Push(Global(ReadLine(), ReadLine())); break;                   // GLOBAL
            case 0x93: { var name = Pop(); var module = Pop(); Push(Global(AsString(module), AsString(name))); break; }   // STACK_GLOBAL
            case (byte)'R': { var args = Pop(); var callable = Pop(); Push(Call(callable, args, "REDUCE")); break; }
            case 0x81: { var args = Pop(); var cls = Pop(); Push(Call(cls, args, "NEWOBJ")); break; }
            case (byte)'Q': Push(persistentLoad(Pop())); break;                            // BINPERSID
            case (byte)'b': Build(Pop()); break;                                           // BUILD
            case (byte)'0': Pop(); break;                                                  // POP
            case (byte)'1': PopToMark(); break;                                            // POP_MARK
            case (byte)'2': Push(stack.Count > 0 ? stack[^1] : throw Malformed("DUP on an empty stack")); break;
            default: throw new InvalidDataException($"pickle: opcode 0x{op:x2} ('{(char)op}') is not supported by this restricted reader");
        }
    }

    PickleGlobal Global(string module, string name)
    {
        var global = new PickleGlobal(module, name);
        if (!allowGlobal(global))
            throw new InvalidDataException($"pickle: refused to load '{global}': only tensors, storages and plain containers are " +
                                           "allowed (the file may run code when loaded by Python's pickle; it is not trusted)");
        return global;
    }

    object? Call(object? callable, object? args, string op)
    {
        if (callable is not PickleGlobal global) throw Malformed($"{op} of a {callable?.GetType().Name ?? "None"}, not an allowed global");
        if (args is not object?[] arguments) throw Malformed($"{op} of {global} with arguments that are not a tuple");
        return reduce(global, arguments);
    }

    /// <summary>BUILD: a dict's state sets attributes (OrderedDict._metadata); anything else is refused.</summary>
    void Build(object? state)
    {
        var target = stack.Count > 0 ? stack[^1] : throw Malformed("BUILD on an empty stack");
        if (target is PickleDict dict && state is PickleDict attributes)
        {
            foreach (var (key, value) in attributes.Items) dict.Attributes[AsString(key)] = value;
            return;
        }
        if (target is PickleCall && state is null) return;
        throw Malformed($"BUILD of a {target?.GetType().Name ?? "None"} with a {state?.GetType().Name ?? "None"} state");
    }

    static PickleDict DictFrom(List<object?> items)
    {
        var d = new PickleDict();
        for (int i = 0; i + 1 < items.Count; i += 2) d.Set(items[i], items[i + 1]);
        return d;
    }

    void Push(object? value) => stack.Add(value);

    object? Pop()
    {
        if (stack.Count == 0) throw Malformed("pop from an empty stack");
        if (marks.Count > 0 && stack.Count <= marks.Peek()) throw Malformed("pop past a MARK");
        var value = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return value;
    }

    List<object?> PopToMark()
    {
        if (marks.Count == 0) throw Malformed("no MARK to pop to");
        int at = marks.Pop();
        if (at > stack.Count) throw Malformed("MARK past the stack");
        var items = stack.GetRange(at, stack.Count - at);
        stack.RemoveRange(at, stack.Count - at);
        return items;
    }

    T Top<T>(string op) where T : class =>
        stack.Count > 0 && stack[^1] is T top ? top : throw Malformed($"{op} onto a {(stack.Count > 0 ? stack[^1]?.GetType().Name ?? "None" : "missing object")}");

    void Memoize(long index) => memo[index] = stack.Count > 0 ? stack[^1] : throw Malformed("PUT on an empty stack");

    object? Recall(long index) => memo.TryGetValue(index, out var value) ? value : throw Malformed($"GET of memo {index}, never stored");

    /// <summary>A little-endian two's-complement integer: a long when it fits 64 bits, else a BigInteger (the legacy magic number).</summary>
    object ReadLong(int count)
    {
        var bytes = ReadBytes(count);
        var value = new System.Numerics.BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : value;
    }

    byte[] ReadBytes(int count)
    {
        if (stream.CanSeek && count > stream.Length - stream.Position)
            throw new InvalidDataException($"pickle: a value of {count} bytes runs past the end of the stream");
        var bytes = reader.ReadBytes(count);
        return bytes.Length == count ? bytes : throw new InvalidDataException("pickle: the stream ended inside a value");
    }

    string ReadUtf8(int count) => Encoding.UTF8.GetString(ReadBytes(count));
    string ReadLatin1(int count) => Encoding.Latin1.GetString(ReadBytes(count));

    string ReadLine()
    {
        var line = new StringBuilder();
        for (int b = stream.ReadByte(); b != '\n'; b = stream.ReadByte())
        {
            if (b < 0 || line.Length > 256) throw Malformed("an unterminated GLOBAL name");
            line.Append((char)b);
        }
        return line.ToString();
    }

    static int Count(long count) =>
        count is >= 0 and <= int.MaxValue ? (int)count : throw new InvalidDataException($"pickle: a length of {count} bytes is out of range");

    static string AsString(object? value) => value as string ?? throw Malformed($"expected a string, got a {value?.GetType().Name ?? "None"}");

    static InvalidDataException Malformed(string what) => new($"pickle: malformed stream: {what}");
}
