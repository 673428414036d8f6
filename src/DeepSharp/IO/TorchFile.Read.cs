using System.IO.Compression;
using System.Numerics;

namespace DeepSharp.IO;

/// <summary>
/// PyTorch checkpoint files (<c>torch.save</c> / <c>torch.load</c>), read and written without Python: the zip format of
/// PyTorch ≥ 1.6 (a pickle, <c>data.pkl</c>, whose persistent ids name raw little-endian storages <c>data/0</c>,
/// <c>data/1</c>, ...) and the legacy format of <c>_use_new_zipfile_serialization=False</c> (magic number, protocol and
/// system pickles, the object pickle, the storage keys, then each storage's element count and bytes). Loading runs no
/// code: the pickle may only name tensors, storages and plain containers (the allow-list of
/// <c>torch.load(weights_only=True)</c>); anything else is refused with <see cref="InvalidDataException"/>. Tensors that
/// share a storage (views, tied weights) load as independent contiguous copies of their views. Float16/bfloat16 load as
/// Float32; int8/uint8/int16 as Int32, as <see cref="SafeTensors"/> does.
/// </summary>
public static partial class TorchFile
{
    static readonly Dictionary<string, SafeTensorsDType> StorageTypes = new()
    {
        ["FloatStorage"] = SafeTensorsDType.F32, ["DoubleStorage"] = SafeTensorsDType.F64, ["HalfStorage"] = SafeTensorsDType.F16,
        ["BFloat16Storage"] = SafeTensorsDType.BF16, ["LongStorage"] = SafeTensorsDType.I64, ["IntStorage"] = SafeTensorsDType.I32,
        ["ShortStorage"] = SafeTensorsDType.I16, ["CharStorage"] = SafeTensorsDType.I8, ["ByteStorage"] = SafeTensorsDType.U8,
        ["BoolStorage"] = SafeTensorsDType.Bool,
    };

    static readonly HashSet<string> RebuildFunctions = ["_rebuild_tensor_v2", "_rebuild_tensor", "_rebuild_parameter"];

    static readonly BigInteger LegacyMagic = BigInteger.Parse("119547037146038801333356");   // 0x1950a86a20f9469cfc6c

    /// <summary>
    /// The state dict in a checkpoint file (torch.load(path, weights_only=True) of a <c>torch.save(model.state_dict())</c>
    /// file), in the file's order. When the file holds a dictionary of several things (a training checkpoint), the
    /// state dict under "state_dict", "model_state_dict" or "model" is returned.
    /// </summary>
    public static Dictionary<string, Tensor> LoadStateDict(string path)
    {
        var root = Load(path);
        if (AsStateDict(root) is { } direct) return direct;
        if (root is IReadOnlyDictionary<string, object?> dict)
            foreach (var key in new[] { "state_dict", "model_state_dict", "model" })
                if (dict.TryGetValue(key, out var inner) && AsStateDict(inner) is { } nested) return nested;
        string what = root is IReadOnlyDictionary<string, object?> d ? $"a dictionary with keys {string.Join(", ", d.Keys.Take(12))}" : root?.GetType().Name ?? "None";
        throw new InvalidDataException($"TorchFile.LoadStateDict: '{path}' holds {what}, not a state dict (a dictionary of names to tensors, " +
                                       "or one under \"state_dict\", \"model_state_dict\" or \"model\")");
    }

    /// <summary>
    /// Everything in a checkpoint file (torch.load(path, weights_only=True)): dictionaries as
    /// <c>IReadOnlyDictionary&lt;string, object?&gt;</c> in the file's order (non-string keys as their text), lists as
    /// <c>List&lt;object?&gt;</c>, tuples as <c>object?[]</c>, tensors as <see cref="Tensor"/>, and None, bool, long
    /// (BigInteger past 64 bits), double, string and byte[].
    /// </summary>
    public static object? Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"TorchFile.Load: no file '{path}'", path);
        using var stream = File.OpenRead(path);
        try
        {
            Span<byte> head = stackalloc byte[4];
            int read = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
            stream.Position = 0;
            bool zip = read == 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
            return Convert(zip ? LoadZip(stream) : LoadLegacy(stream));
        }
        catch (InvalidDataException e) { throw new InvalidDataException($"TorchFile.Load: '{path}': {e.Message}", e); }
        catch (EndOfStreamException e) { throw new InvalidDataException($"TorchFile.Load: '{path}' ends early; the file is truncated", e); }
    }

    static object? LoadZip(Stream stream)
    {
        using var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        var pickle = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
                     ?? throw new InvalidDataException("a zip without data.pkl is not a PyTorch checkpoint");
        string prefix = pickle.FullName[..^"data.pkl".Length];
        using var pickleStream = new MemoryStream();
        using (var s = pickle.Open()) s.CopyTo(pickleStream);
        pickleStream.Position = 0;
        var storages = new Dictionary<string, Tensor>();
        object? LoadStorage(object? pid)
        {
            var (dtype, key, numel) = ParseStorageId(pid);
            if (storages.TryGetValue(key, out var known)) return known;
            var entry = zip.GetEntry(prefix + "data/" + key) ?? throw new InvalidDataException($"storage '{key}' is named but {prefix}data/{key} is missing");
            long bytes = numel * dtype.ElementSize();
            if (entry.Length != bytes)
                throw new InvalidDataException($"storage '{key}' holds {entry.Length} bytes; {numel} elements of {dtype.SpecName()} need {bytes}");
            using var data = entry.Open();
            return storages[key] = ReadStorage(data, dtype, numel, key);
        }
        return new Unpickler(pickleStream, IsAllowed, LoadStorage, Reduce).Load();
    }

    static object? LoadLegacy(Stream stream)
    {
        object? Next(Func<object?, object?>? persistent = null, bool views = true) =>
            new Unpickler(stream, IsAllowed, persistent ?? (_ => throw new InvalidDataException("a persistent id outside the object pickle")),
                          views ? Reduce : ReduceWithoutViews).Load();
        object? magic;
        try { magic = Next(); }
        catch (InvalidDataException e) { throw new InvalidDataException($"neither a zip nor a legacy PyTorch file ({e.Message})", e); }
        if (magic is not BigInteger m || m != LegacyMagic) throw new InvalidDataException("neither a zip nor a legacy PyTorch file (wrong magic number)");
        if (Next() is not 1001L) throw new InvalidDataException("a legacy PyTorch file of an unknown protocol version (1001 is supported)");
        if (Next() is PickleDict info && info.Items.FirstOrDefault(kv => Equals(kv.Key, "little_endian")).Value is false)
            throw new InvalidDataException("a big-endian legacy file is not supported");
        // The storages' bytes follow the object pickle, so read it once for their ids, then the data, then again for the tensors.
        long objectPickle = stream.Position;
        var named = new Dictionary<string, (SafeTensorsDType DType, long Numel)>();
        Next(pid => { var (dtype, key, numel) = ParseStorageId(pid); named[key] = (dtype, numel); return null; }, views: false);
        if (Next() is not List<object?> keys) throw new InvalidDataException("the legacy storage key list is missing");
        var storages = new Dictionary<string, Tensor>();
        var counts = new BinaryReader(stream);
        foreach (var key in keys.Select(k => k as string ?? throw new InvalidDataException("a storage key that is not a string")))
        {
            if (!named.TryGetValue(key, out var s)) throw new InvalidDataException($"storage '{key}' is listed but no tensor uses it");
            long count = counts.ReadInt64();
            if (count != s.Numel) throw new InvalidDataException($"storage '{key}' holds {count} elements, its tensor said {s.Numel}");
            storages[key] = ReadStorage(stream, s.DType, count, key);
        }
        stream.Position = objectPickle;
        return Next(pid => storages.TryGetValue(ParseStorageId(pid).Key, out var t) ? t : throw new InvalidDataException("a storage without data"));
    }

    /// <summary>('storage', torch.XStorage, key, location, numel[, view metadata]) → its parts.</summary>
    static (SafeTensorsDType DType, string Key, long Numel) ParseStorageId(object? pid)
    {
        if (pid is not object?[] { Length: >= 5 } t || t[0] is not "storage" || t[1] is not PickleGlobal type || t[2] is not string key || t[4] is not long numel)
            throw new InvalidDataException("a persistent id that is not ('storage', type, key, location, size)");
        if (t.Length > 5 && t[5] != null) throw new InvalidDataException($"storage '{key}' is a legacy storage view, which is not supported");
        if (!StorageTypes.TryGetValue(type.Name, out var dtype)) throw new InvalidDataException($"storage type {type} is not supported");
        if (numel < 0 || numel > int.MaxValue) throw new InvalidDataException($"storage '{key}' has {numel} elements, out of range");
        return (dtype, key, numel);
    }

    static Tensor ReadStorage(Stream data, SafeTensorsDType dtype, long numel, string key) =>
        SafeTensors.ReadTensor(data, new SafeTensorInfo(key, dtype, [(int)numel], 0, numel * dtype.ElementSize()));

    static bool IsAllowed(PickleGlobal g) => g switch
    {
        { Module: "collections", Name: "OrderedDict" } => true,
        { Module: "torch._utils" } => RebuildFunctions.Contains(g.Name),
        { Module: "torch" } => StorageTypes.ContainsKey(g.Name),
        _ => false,
    };

    static object? ReduceWithoutViews(PickleGlobal g, object?[] a) => g.Name is "OrderedDict" ? Reduce(g, a) : null;

    static object? Reduce(PickleGlobal g, object?[] a)
    {
        switch (g.Name)
        {
            case "OrderedDict":
                var dict = new PickleDict();
                if (a.Length > 0 && a[0] is List<object?> pairs)
                    foreach (var pair in pairs) if (pair is object?[] { Length: 2 } kv) dict.Set(kv[0], kv[1]);
                return dict;
            case "_rebuild_tensor_v2" or "_rebuild_tensor":
                if (a.Length < 4 || a[0] is not Tensor storage || a[1] is not long offset || a[2] is not object?[] size || a[3] is not object?[] stride)
                    throw new InvalidDataException($"{g} with arguments that are not (storage, offset, size, stride, ...)");
                return View(storage, offset, size, stride);
            case "_rebuild_parameter":
                return a.Length >= 1 && a[0] is Tensor data ? data : throw new InvalidDataException($"{g} without a tensor");
            default:
                return new PickleCall(g, a);
        }
    }

    /// <summary>A contiguous copy of the view (offset, size, stride) of a flat storage, after checking it stays inside.</summary>
    static Tensor View(Tensor storage, long offset, object?[] size, object?[] stride)
    {
        if (size.Length != stride.Length || size.Any(s => s is not long) || stride.Any(s => s is not long))
            throw new InvalidDataException("a tensor whose size and stride are not integer tuples of one length");
        var shape = size.Select(s => (long)s!).ToArray();
        var strides = stride.Select(s => (long)s!).ToArray();
        long numel = storage.NumEl, last = offset;
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] < 0 || strides[d] < 0 || shape[d] > int.MaxValue) throw new InvalidDataException($"a tensor of size ({string.Join(", ", shape)}) and stride ({string.Join(", ", strides)})");
            if (shape[d] == 0) return Tensor.Zeros(shape.Select(s => (int)s).ToArray(), storage.DType);
            last += (shape[d] - 1) * strides[d];
        }
        if (offset < 0 || last >= numel)
            throw new InvalidDataException($"a tensor view (offset {offset}, size ({string.Join(", ", shape)}), stride ({string.Join(", ", strides)})) reaches past its storage of {numel} elements");
        return new Tensor(storage.storage, shape.Select(s => (int)s).ToArray(), strides.Select(s => (int)s).ToArray(), (int)offset).Clone();
    }

    /// <summary>The unpickled value with the pickle's own types turned into the public ones.</summary>
    static object? Convert(object? value) => value switch
    {
        PickleDict d => d.Items.ToDictionary(kv => kv.Key as string ?? System.Convert.ToString(kv.Key, System.Globalization.CultureInfo.InvariantCulture)!, kv => Convert(kv.Value)) as IReadOnlyDictionary<string, object?>,
        List<object?> list => list.Select(Convert).ToList(),
        object?[] tuple => tuple.Select(Convert).ToArray(),
        PickleCall call => throw new InvalidDataException($"the file holds a {call.Callable} object, which is not plain data"),
        PickleGlobal global => throw new InvalidDataException($"the file holds the bare global {global}"),
        _ => value,
    };

    static Dictionary<string, Tensor>? AsStateDict(object? value) =>
        value is IReadOnlyDictionary<string, object?> d && d.Count > 0 && d.Values.All(v => v is Tensor)
            ? d.ToDictionary(kv => kv.Key, kv => (Tensor)kv.Value!)
            : null;
}
