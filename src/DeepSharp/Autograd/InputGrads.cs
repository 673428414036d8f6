using System.Runtime.CompilerServices;

namespace DeepSharp;

/// <summary>
/// The gradients a backward function returns, one per input of its node. Up to three are held inline, so a static
/// backward written as a collection expression (<c>[ga, gb]</c>) builds no array; more, or an array a closure returned,
/// are kept in that array.
/// </summary>
[CollectionBuilder(typeof(InputGrads), nameof(Create))]
internal readonly struct InputGrads
{
    readonly Tensor? g0, g1, g2;
    readonly Tensor?[]? array;

    /// <summary>Number of gradients (the node's number of inputs).</summary>
    public readonly int Count;

    InputGrads(Tensor? g0, Tensor? g1, Tensor? g2, int count) { this.g0 = g0; this.g1 = g1; this.g2 = g2; array = null; Count = count; }

    InputGrads(Tensor?[] array) { g0 = g1 = g2 = null; this.array = array; Count = array.Length; }

    /// <summary>Builds the gradients of a collection expression (the compiler passes a span on the stack).</summary>
    public static InputGrads Create(ReadOnlySpan<Tensor?> grads) => grads.Length switch
    {
        1 => new(grads[0], null, null, 1),
        2 => new(grads[0], grads[1], null, 2),
        3 => new(grads[0], grads[1], grads[2], 3),
        _ => new(grads.ToArray()),
    };

    /// <summary>Wraps the array a closure backward returned (no copy).</summary>
    public static implicit operator InputGrads(Tensor?[] grads) => new(grads);

    /// <summary>Gradient <paramref name="index"/>.</summary>
    public Tensor? this[int index] => array != null ? array[index] : index switch { 0 => g0, 1 => g1, _ => g2 };

    /// <summary>Enumerates the gradients (the pattern a collection builder type needs).</summary>
    public Enumerator GetEnumerator() => new(this);

    /// <summary>Enumerator over <see cref="InputGrads"/>.</summary>
    public struct Enumerator(InputGrads grads)
    {
        int index = -1;
        /// <summary>The current gradient.</summary>
        public readonly Tensor? Current => grads[index];
        /// <summary>Advances to the next gradient.</summary>
        public bool MoveNext() => ++index < grads.Count;
    }
}

/// <summary>
/// A backward function that allocates no closure: a static lambda (cached by the compiler) reading the saved tensors
/// (<see cref="Node.Saved"/>, version-checked), the inputs (<see cref="Node.Input"/>) and the state
/// (<see cref="Node.State"/>) from the node it is given, and returning one gradient per input.
/// </summary>
internal delegate InputGrads BackwardFunction(Node node, Tensor gradOutput);
