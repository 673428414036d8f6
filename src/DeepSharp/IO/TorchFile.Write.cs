using System.IO.Compression;
using System.Text;

namespace DeepSharp.IO;

public static partial class TorchFile
{
    /// <summary>
    /// Writes <paramref name="stateDict"/> as PyTorch 1.13's <c>torch.save(state_dict, path)</c> does: a zip holding
    /// <c>ARCHIVE/data.pkl</c> (a protocol-2 pickle of an OrderedDict of <c>torch._utils._rebuild_tensor_v2</c> calls),
    /// one little-endian storage per tensor under <c>ARCHIVE/data/N</c> and <c>ARCHIVE/version</c>, where ARCHIVE is the
    /// file name without its extension. <c>torch.load</c> and <c>model.load_state_dict(torch.load(path))</c> read it. The file
    /// is replaced atomically (<see cref="AtomicFile"/>): a failed save leaves the previous file as it was.
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> stateDict)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(stateDict);
        var entries = stateDict.ToList();
        var seen = new HashSet<string>();
        foreach (var (name, tensor) in entries)
        {
            if (name is null || tensor is null) throw new ArgumentException("TorchFile.Save: a null name or tensor in the state dict", nameof(stateDict));
            if (!seen.Add(name)) throw new ArgumentException($"TorchFile.Save: the name '{name}' appears twice", nameof(stateDict));
        }
        string archive = ArchiveName(path);
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            WriteEntry(zip, $"{archive}/data.pkl", StateDictPickle(entries));
            for (int i = 0; i < entries.Count; i++)
            {
                using var storage = zip.CreateEntry($"{archive}/data/{i}", CompressionLevel.NoCompression).Open();
                SafeTensors.WriteData(storage, entries[i].Value.Detach());   // the same little-endian layout as safetensors
            }
            WriteEntry(zip, $"{archive}/version", "3\n"u8.ToArray());
        });
    }

    /// <summary>The archive folder torch.save uses: the file name without its extension, reduced to safe characters.</summary>
    static string ArchiveName(string path)
    {
        var stem = Path.GetFileNameWithoutExtension(path);
        var safe = new string(stem.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_').ToArray());
        return safe.Length > 0 ? safe : "archive";
    }

    static void WriteEntry(ZipArchive zip, string name, byte[] bytes)
    {
        using var entry = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        entry.Write(bytes);
    }

    static string StorageName(DType dtype) => dtype switch
    {
        DType.Float32 => "FloatStorage", DType.Float64 => "DoubleStorage", DType.Int64 => "LongStorage",
        DType.Int32 => "IntStorage", DType.Bool => "BoolStorage",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), $"TorchFile.Save: no PyTorch storage for {dtype}"),
    };

    /// <summary>OrderedDict([(name, _rebuild_tensor_v2(storage i, 0, size, stride, False, OrderedDict())), ...]) as protocol 2.</summary>
    static byte[] StateDictPickle(List<KeyValuePair<string, Tensor>> entries)
    {
        var p = new MemoryStream();
        p.Write([0x80, 2]);                                                         // PROTO 2
        Global(p, "collections", "OrderedDict"); p.WriteByte((byte)')'); p.WriteByte((byte)'R');
        p.WriteByte((byte)'(');                                                     // MARK for SETITEMS
        for (int i = 0; i < entries.Count; i++)
        {
            var (name, tensor) = entries[i];
            Unicode(p, name);
            Global(p, "torch._utils", "_rebuild_tensor_v2");
            p.WriteByte((byte)'(');                                                 // MARK: the arguments
            p.WriteByte((byte)'(');                                                 // MARK: the persistent id
            Unicode(p, "storage"); Global(p, "torch", StorageName(tensor.DType)); Unicode(p, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Unicode(p, "cpu"); Int(p, tensor.NumEl);
            p.WriteByte((byte)'t'); p.WriteByte((byte)'Q');                         // TUPLE, BINPERSID
            Int(p, 0);                                                              // storage offset
            IntTuple(p, tensor.Shape); IntTuple(p, ShapeUtil.ContiguousStrides(tensor.Shape.ToArray()));
            p.WriteByte(0x89);                                                      // requires_grad False
            Global(p, "collections", "OrderedDict"); p.WriteByte((byte)')'); p.WriteByte((byte)'R');   // backward hooks
            p.WriteByte((byte)'t'); p.WriteByte((byte)'R');                         // TUPLE, REDUCE
        }
        p.WriteByte((byte)'u'); p.WriteByte((byte)'.');                             // SETITEMS, STOP
        return p.ToArray();
    }

    static void Global(Stream p, string module, string name)
    {
        p.WriteByte((byte)'c');
        p.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
    }

    static void Unicode(Stream p, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        p.WriteByte((byte)'X');
        Span<byte> length = stackalloc byte[4];
        BitConverter.TryWriteBytes(length, bytes.Length);
        p.Write(length); p.Write(bytes);
    }

    static void Int(Stream p, long value)
    {
        Span<byte> b = stackalloc byte[8];
        if (value is >= 0 and < 256) { p.WriteByte((byte)'K'); p.WriteByte((byte)value); }
        else if (value is >= int.MinValue and <= int.MaxValue) { p.WriteByte((byte)'J'); BitConverter.TryWriteBytes(b, (int)value); p.Write(b[..4]); }
        else { p.WriteByte(0x8a); p.WriteByte(8); BitConverter.TryWriteBytes(b, value); p.Write(b); }   // LONG1, 8 bytes
    }

    static void IntTuple(Stream p, IReadOnlyList<int> values)
    {
        p.WriteByte((byte)'(');
        foreach (var v in values) Int(p, v);
        p.WriteByte((byte)'t');
    }
}
