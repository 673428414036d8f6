using DeepSharp.NN;

namespace DeepSharp.Vision.Models;

/// <summary>Initialisation schemes shared by several torchvision model families.</summary>
static class ZooInit
{
    /// <summary>
    /// torchvision's VGG / MobileNetV2 scheme: every Conv2d kaiming_normal_(mode="fan_out", gain √2) with zero bias,
    /// BatchNorm2d weight 1 and bias 0, every Linear N(0, <paramref name="linearStd"/>²) with zero bias.
    /// </summary>
    public static void KaimingFanOutConvNormalLinear(Module model, double linearStd = 0.01)
    {
        foreach (var m in model.Modules())
        {
            switch (m)
            {
                case Conv2d conv:
                    Init.KaimingNormal(conv.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.ReLU);
                    if (conv.Bias != null) Init.Zeros(conv.Bias);
                    break;
                case BatchNorm2d bn:
                    Init.Ones(bn.Weight!); Init.Zeros(bn.Bias!);
                    break;
                case Linear linear:
                    Init.Normal(linear.Weight, 0, linearStd);
                    if (linear.Bias != null) Init.Zeros(linear.Bias);
                    break;
            }
        }
    }
}
