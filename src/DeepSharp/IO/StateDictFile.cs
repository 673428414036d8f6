namespace DeepSharp.IO;

/// <summary>
/// Reads a state dict from whichever format a file is in, judged by its first bytes rather than its name: safetensors
/// (<see cref="SafeTensors"/>), or a PyTorch checkpoint in the zip or legacy format (<see cref="TorchFile"/>:
/// <c>torch.save(model.state_dict())</c> files such as torchvision's downloaded weights). A DataParallel
/// <c>"module."</c> prefix on every key is removed, as torchvision's loaders and most training scripts do.
/// </summary>
public static class StateDictFile
{
    /// <summary>The file's format: "safetensors", "pytorch-zip" or "pytorch-legacy".</summary>
    public static string DetectFormat(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"StateDictFile: no file '{path}'", path);
        Span<byte> head = stackalloc byte[9];
        using (var stream = File.OpenRead(path))
        {
            int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            head = head[..read];
        }
        if (head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return "pytorch-zip";
        if (head.Length >= 2 && head[0] == 0x80 && head[1] <= 5) return "pytorch-legacy";
        if (head.Length == 9 && head[8] == '{') return "safetensors";
        throw new InvalidDataException($"StateDictFile: '{path}' is neither safetensors nor a PyTorch checkpoint (.pth/.pt)");
    }

    /// <summary>The state dict in <paramref name="path"/> (safetensors, or a PyTorch checkpoint), in the file's order.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        var tensors = DetectFormat(path) == "safetensors" ? SafeTensors.Load(path) : TorchFile.LoadStateDict(path);
        const string prefix = "module.";
        return tensors.Count > 0 && tensors.Keys.All(k => k.StartsWith(prefix, StringComparison.Ordinal))
            ? tensors.ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value)
            : tensors;
    }
}
