using DeepSharp.IO;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp convert IN OUT`: a state dict from safetensors to a PyTorch .pth file or back (docs/interop.md).</summary>
public static class ConvertCommand
{
    const string Usage =
        "usage: deepsharp convert IN OUT\n" +
        "  Converts a state dict between safetensors and PyTorch's torch.save format: IN is read by its content (safetensors,\n" +
        "  or a .pth/.pt checkpoint in the zip or legacy format, a state dict or a checkpoint holding one under\n" +
        "  'state_dict'/'model'); OUT's extension picks the output: .safetensors, or .pth/.pt (readable by torch.load).\n" +
        "  Loading a .pth runs no code: pickles naming anything but tensors and plain containers are refused.";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("convert", args, []);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        if (p.Positionals.Count != 2)
            throw new UsageException("deepsharp convert: give the input and the output file, e.g. 'deepsharp convert resnet18.pth resnet18.safetensors'.");
        string source = p.Positionals[0], target = p.Positionals[1];
        string extension = Path.GetExtension(target).ToLowerInvariant();
        if (extension is not (".safetensors" or ".pth" or ".pt"))
            throw new UsageException($"deepsharp convert: the output '{target}' must end in .safetensors, .pth or .pt");
        if (!File.Exists(source)) throw new FileNotFoundException($"no file '{source}'", source);
        if (Path.GetFullPath(source) == Path.GetFullPath(target))
            throw new UsageException("deepsharp convert: the output must be another file than the input");
        string format = StateDictFile.DetectFormat(source);
        var tensors = StateDictFile.Load(source);
        if (extension == ".safetensors") SafeTensors.Save(target, tensors);
        else TorchFile.Save(target, tensors);
        long values = tensors.Values.Sum(t => (long)t.NumEl);
        output.WriteLine($"{source} ({format}) -> {target}: {tensors.Count} tensors, {values:N0} values");
        return 0;
    }
}
