// Shape overloads for the creation functions (written by a script once, then kept by hand).
namespace DeepSharp;

public sealed partial class Tensor
{
    /// <summary>Creates a zero-filled tensor of the given shape (torch.zeros).</summary>
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32, bool requiresGrad = false) => Fill(dtype, shape, 0, requiresGrad);
    /// <summary>Creates a zero-filled tensor of the given shape (torch.zeros).</summary>
    public static Tensor Zeros(params int[] shape) => Zeros(shape, DType.Float32);
    /// <summary>Creates a zero-filled tensor of shape (d0) (torch.zeros).</summary>
    public static Tensor Zeros(int d0, DType dtype = DType.Float32, bool requiresGrad = false) => Zeros([d0], dtype, requiresGrad);
    /// <summary>Creates a zero-filled tensor of shape (d0, d1) (torch.zeros).</summary>
    public static Tensor Zeros(int d0, int d1, DType dtype = DType.Float32, bool requiresGrad = false) => Zeros([d0, d1], dtype, requiresGrad);
    /// <summary>Creates a zero-filled tensor of shape (d0, d1, d2) (torch.zeros).</summary>
    public static Tensor Zeros(int d0, int d1, int d2, DType dtype = DType.Float32, bool requiresGrad = false) => Zeros([d0, d1, d2], dtype, requiresGrad);
    /// <summary>Creates a zero-filled tensor of shape (d0, d1, d2, d3) (torch.zeros).</summary>
    public static Tensor Zeros(int d0, int d1, int d2, int d3, DType dtype = DType.Float32, bool requiresGrad = false) => Zeros([d0, d1, d2, d3], dtype, requiresGrad);
    /// <summary>Creates a tensor of ones of the given shape (torch.ones).</summary>
    public static Tensor Ones(int[] shape, DType dtype = DType.Float32, bool requiresGrad = false) => Fill(dtype, shape, 1, requiresGrad);
    /// <summary>Creates a tensor of ones of the given shape (torch.ones).</summary>
    public static Tensor Ones(params int[] shape) => Ones(shape, DType.Float32);
    /// <summary>Creates a tensor of ones of shape (d0) (torch.ones).</summary>
    public static Tensor Ones(int d0, DType dtype = DType.Float32, bool requiresGrad = false) => Ones([d0], dtype, requiresGrad);
    /// <summary>Creates a tensor of ones of shape (d0, d1) (torch.ones).</summary>
    public static Tensor Ones(int d0, int d1, DType dtype = DType.Float32, bool requiresGrad = false) => Ones([d0, d1], dtype, requiresGrad);
    /// <summary>Creates a tensor of ones of shape (d0, d1, d2) (torch.ones).</summary>
    public static Tensor Ones(int d0, int d1, int d2, DType dtype = DType.Float32, bool requiresGrad = false) => Ones([d0, d1, d2], dtype, requiresGrad);
    /// <summary>Creates a tensor of ones of shape (d0, d1, d2, d3) (torch.ones).</summary>
    public static Tensor Ones(int d0, int d1, int d2, int d3, DType dtype = DType.Float32, bool requiresGrad = false) => Ones([d0, d1, d2, d3], dtype, requiresGrad);
    /// <summary>Creates a tensor whose contents are unspecified (here: zeros) of the given shape (torch.empty).</summary>
    public static Tensor Empty(int[] shape, DType dtype = DType.Float32, bool requiresGrad = false) => Fill(dtype, shape, 0, requiresGrad);
    /// <summary>Creates a tensor whose contents are unspecified (here: zeros) of the given shape (torch.empty).</summary>
    public static Tensor Empty(params int[] shape) => Empty(shape, DType.Float32);
    /// <summary>Creates a tensor whose contents are unspecified (here: zeros) of shape (d0) (torch.empty).</summary>
    public static Tensor Empty(int d0, DType dtype = DType.Float32, bool requiresGrad = false) => Empty([d0], dtype, requiresGrad);
    /// <summary>Creates a tensor whose contents are unspecified (here: zeros) of shape (d0, d1) (torch.empty).</summary>
    public static Tensor Empty(int d0, int d1, DType dtype = DType.Float32, bool requiresGrad = false) => Empty([d0, d1], dtype, requiresGrad);
    /// <summary>Creates a tensor whose contents are unspecified (here: zeros) of shape (d0, d1, d2) (torch.empty).</summary>
    public static Tensor Empty(int d0, int d1, int d2, DType dtype = DType.Float32, bool requiresGrad = false) => Empty([d0, d1, d2], dtype, requiresGrad);
    /// <summary>Creates a tensor whose contents are unspecified (here: zeros) of shape (d0, d1, d2, d3) (torch.empty).</summary>
    public static Tensor Empty(int d0, int d1, int d2, int d3, DType dtype = DType.Float32, bool requiresGrad = false) => Empty([d0, d1, d2, d3], dtype, requiresGrad);
    /// <summary>Creates a tensor of uniform samples in [0, 1) of the given shape (torch.rand).</summary>
    public static Tensor Rand(int[] shape, DType dtype = DType.Float32, bool requiresGrad = false, Generator? generator = null) => RandomFill(dtype, shape, requiresGrad, generator, RandomKind.Uniform);
    /// <summary>Creates a tensor of uniform samples in [0, 1) of the given shape (torch.rand).</summary>
    public static Tensor Rand(params int[] shape) => Rand(shape, DType.Float32);
    /// <summary>Creates a tensor of uniform samples in [0, 1) of shape (d0) (torch.rand).</summary>
    public static Tensor Rand(int d0, DType dtype = DType.Float32, bool requiresGrad = false, Generator? generator = null) => Rand([d0], dtype, requiresGrad, generator);
    /// <summary>Creates a tensor of uniform samples in [0, 1) of shape (d0, d1) (torch.rand).</summary>
    public static Tensor Rand(int d0, int d1, DType dtype = DType.Float32, bool requiresGrad = false, Generator? generator = null) => Rand([d0, d1], dtype, requiresGrad, generator);
    /// <summary>Creates a tensor of uniform samples in [0, 1) of shape (d0, d1, d2) (torch.rand).</summary>
    public static Tensor Rand(int d0, int d1, int d2, DType dtype = DType.Float32, bool requiresGrad = false, Generator? generator = null) => Rand([d0, d1, d2], dtype, requiresGrad, generator);
    /// <summary>Creates a tensor of uniform samples in [0, 1) of shape (d0, d1, d2, d3) (torch.rand).</summary>
    public static Tensor Rand(int d0, int d1, int d2, int d3, DType dtype = DType.Float32, bool requiresGrad = false, Generator? generator = null) => Rand([d0, d1, d2, d3], dtype, requiresGrad, generator);
    /// <summary>Creates a tensor of standard normal samples of the given shape (torch.randn).</summary>
    public static Tensor Randn(int[] shape, DType dtype = DType.Float32, bool requiresGrad = false, Generator? generator = null) => RandomFill(dtype, shape, requiresGrad, generator, RandomKind.Normal);
    /// <summary>Creates a tensor of standard normal samples of the given shape (torch.randn).</summary>
    public static Tensor Randn(params int[] shape) => Randn(shape, DType.Float32);
    /// <summary>Creates a tensor of standard normal samples of shape (d0) (torch.randn).</summary>
    public static Tensor Randn(int d0, DType dtype = DType.Float32, bool requiresGrad = false, Generator? generator = null) => Randn([d0], dtype, requiresGrad, generator);
    /// <summary>Creates a tensor of standard normal samples of shape (d0, d1) (torch.randn).</summary>
    public static Tensor Randn(int d0, int d1, DType dtype = DType.Float32, bool requiresGrad = false, Generator? generator = null) => Randn([d0, d1], dtype, requiresGrad, generator);
    /// <summary>Creates a tensor of standard normal samples of shape (d0, d1, d2) (torch.randn).</summary>
    public static Tensor Randn(int d0, int d1, int d2, DType dtype = DType.Float32, bool requiresGrad = false, Generator? generator = null) => Randn([d0, d1, d2], dtype, requiresGrad, generator);
    /// <summary>Creates a tensor of standard normal samples of shape (d0, d1, d2, d3) (torch.randn).</summary>
    public static Tensor Randn(int d0, int d1, int d2, int d3, DType dtype = DType.Float32, bool requiresGrad = false, Generator? generator = null) => Randn([d0, d1, d2, d3], dtype, requiresGrad, generator);
}
