using DeepSharp.Cli;
using DeepSharp.Cli.Commands;

return Cli.Run(args, Console.Out, Console.Error);

namespace DeepSharp.Cli
{
    /// <summary>Entry point of the `deepsharp` command: dispatches to a sub-command and turns user mistakes into one-line errors.</summary>
    public static class Cli
    {
        /// <summary>The sub-commands, their one-line descriptions and handlers.</summary>
        public static readonly (string Name, string Summary, Func<string[], TextWriter, int> Run)[] Commands =
        [
            ("train", "train an image classifier (Fashion-MNIST, MNIST) or a language model (--model gpt|lstm on text)", TrainCommand.Run),
            ("evaluate", "test accuracy and per-class report of a saved model", EvaluateCommand.Run),
            ("predict", "classify one image with a saved model", EvaluateCommand.Predict),
            ("attack", "robust accuracy of a saved model under FGSM/PGD and a picture of adversarial examples", AttackCommand.Run),
            ("generate", "continue a prompt with a language model saved by 'deepsharp train --model gpt|lstm'", GenerateCommand.Run),
            ("bench", "standard workloads, optionally against PyTorch (--compare-pytorch)", BenchCommand.Run),
            ("info", "version, SIMD level and threads", InfoCommand.Run),
        ];

        /// <summary>Runs the command line; returns the process exit code (0 ok, 1 failure, 2 usage error).</summary>
        public static int Run(string[] args, TextWriter output, TextWriter error)
        {
            if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
            {
                output.WriteLine("usage: deepsharp COMMAND [OPTIONS]\n\ncommands:");
                foreach (var c in Commands) output.WriteLine($"  {c.Name,-10} {c.Summary}");
                output.WriteLine("\nRun 'deepsharp COMMAND --help' for the options of a command.");
                return args.Length == 0 ? 2 : 0;
            }
            var command = Commands.FirstOrDefault(c => c.Name == args[0]);
            if (command.Run == null)
            {
                error.WriteLine($"deepsharp: unknown command '{args[0]}'. Commands: {string.Join(", ", Commands.Select(c => c.Name))}.");
                return 2;
            }
            try { return command.Run(args[1..], output); }
            catch (UsageException e) { error.WriteLine(e.Message); return 2; }
            catch (FileNotFoundException e) { error.WriteLine($"deepsharp {args[0]}: {e.Message}"); return 1; }
            catch (InvalidDataException e) { error.WriteLine($"deepsharp {args[0]}: {e.Message}"); return 1; }
        }
    }
}
