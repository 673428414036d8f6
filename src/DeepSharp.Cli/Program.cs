using DeepSharp.Cli;
using DeepSharp.Cli.Commands;

return Cli.Run(args, Console.Out, Console.Error);

namespace DeepSharp.Cli
{
    /// <summary>Entry point of the `deepsharp` command: dispatches to a sub-command and turns every failure into one line and an exit code.</summary>
    public static class Cli
    {
        /// <summary>The sub-commands, their one-line descriptions and handlers.</summary>
        public static readonly (string Name, string Summary, Func<string[], TextWriter, int> Run)[] Commands =
        [
            ("train", "train an image classifier (Fashion-MNIST, MNIST), a generative model (--model ae|dae|vae|dcgan|wgan-gp|ddpm) or a language model (--model gpt|lstm on text)", TrainCommand.Run),
            ("evaluate", "test accuracy and per-class report of a saved model", EvaluateCommand.Run),
            ("predict", "classify one image with a saved model", EvaluateCommand.Predict),
            ("explain", "attribution map of one prediction (saliency, smoothgrad, ig, gradcam, gradcam++, occlusion) as PNG", ExplainCommand.Run),
            ("convert", "convert a state dict between safetensors and PyTorch .pth (torch.save) files", ConvertCommand.Run),
            ("quantize", "int8 quantization of a saved model (--mode static|dynamic, --calibrate N) into a smaller, faster file", QuantizeCommand.Run),
            ("export", "write a saved model as an ONNX file (--format onnx) for ONNX Runtime and other runtimes", ExportCommand.Run),
            ("attack", "robust accuracy of a saved model under FGSM/PGD and a picture of adversarial examples", AttackCommand.Run),
            ("sample", "a PNG grid of images drawn from a generative model saved by 'deepsharp train --model vae|dcgan|wgan-gp|ddpm'", SampleCommand.Run),
            ("transcribe", "the words a speech model (train --dataset spoken-digit-strings --model ctc) hears in a WAV file, and its spectrogram as PNG", TranscribeCommand.Run),
            ("generate", "continue a prompt with a language model saved by 'deepsharp train --model gpt|lstm'", GenerateCommand.Run),
            ("rl", "train a DQN or PPO agent on CartPole-v1 or Acrobot-v1 (--env cartpole|acrobot --algo dqn|ppo), or replay one (rl play RUN)", RlCommand.Run),
            ("prune", "magnitude pruning of a saved model with fine-tuning (--sparsity X, --structured for a smaller dense model)", PruneCommand.Run),
            ("distill", "knowledge distillation of a saved model into a quarter-size student (--teacher MODEL --student small-cnn)", DistillCommand.Run),
            ("bench", "standard workloads, optionally against PyTorch (--compare-pytorch)", BenchCommand.Run),
            ("info", "version, SIMD level and threads", InfoCommand.Run),
        ];

        /// <summary>
        /// Runs the command line and returns the process exit code (<see cref="ExitCodes"/>: 0 ok, 1 data/model/file problem,
        /// 2 usage error, 3 training diverged, 4 out of memory, 70 internal error). Every failure is one line on
        /// <paramref name="error"/>; `--verbose` (anywhere on the line) adds the stack trace.
        /// </summary>
        public static int Run(string[] args, TextWriter output, TextWriter error)
        {
            bool verbose = args.Contains("--verbose") || Environment.GetEnvironmentVariable("DEEPSHARP_VERBOSE") == "1";
            args = args.Where(a => a != "--verbose").ToArray();
            if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
            {
                output.WriteLine("usage: deepsharp COMMAND [OPTIONS] [--verbose]\n\ncommands:");
                foreach (var c in Commands) output.WriteLine($"  {c.Name,-10} {c.Summary}");
                output.WriteLine("\nRun 'deepsharp COMMAND --help' for the options of a command; --verbose adds the stack trace to an error.");
                return args.Length == 0 ? ExitCodes.Usage : ExitCodes.Ok;
            }
            var command = Commands.FirstOrDefault(c => c.Name == args[0]);
            if (command.Run == null)
            {
                error.WriteLine($"deepsharp: unknown command '{args[0]}'. Commands: {string.Join(", ", Commands.Select(c => c.Name))}.");
                return ExitCodes.Usage;
            }
            try { return command.Run(args[1..], output); }
            catch (Exception e)
            {
                Training.Progress.EndLiveLine();
                var (code, line) = ExitCodes.Describe(args[0], e);
                error.WriteLine(line);
                if (verbose) error.WriteLine(e.ToString());
                return code;
            }
        }
    }
}
