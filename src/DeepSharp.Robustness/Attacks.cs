using DeepSharp.NN;

namespace DeepSharp.Robustness;

/// <summary>Attacks by name, with the step sizes users of torchattacks and Madry's code expect; what `deepsharp attack` uses.</summary>
public static class Attacks
{
    /// <summary>The method names <see cref="Create"/> knows.</summary>
    public static readonly string[] Methods = ["fgsm", "pgd", "pgd-l2"];

    /// <summary>
    /// "fgsm": <see cref="Fgsm"/>(ε); "pgd": <see cref="Pgd"/>(ε, α = 2.5·ε/steps, steps, random start); "pgd-l2":
    /// <see cref="PgdL2"/>(ε, α = 2.5·ε/steps, steps, random start). <paramref name="steps"/> is ignored by FGSM.
    /// </summary>
    public static Attack Create(string method, Module<Tensor, Tensor> model, double epsilon, int steps = 20, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (steps < 1) throw new ArgumentException($"Attacks.Create: steps must be at least 1, got {steps}", nameof(steps));
        return method.ToLowerInvariant() switch
        {
            "fgsm" => new Fgsm(model, epsilon) { Generator = generator },
            "pgd" => new Pgd(model, epsilon, Pgd.DefaultAlpha(epsilon, steps), steps) { Generator = generator },
            "pgd-l2" or "pgdl2" => new PgdL2(model, epsilon, Pgd.DefaultAlpha(epsilon, steps), steps) { Generator = generator },
            _ => throw new ArgumentException($"Attacks.Create: unknown method '{method}'; use one of {string.Join(", ", Methods)}", nameof(method)),
        };
    }
}
