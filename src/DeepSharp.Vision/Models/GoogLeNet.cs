using DeepSharp.NN;

namespace DeepSharp.Vision.Models;

/// <summary>
/// What <see cref="GoogLeNet.ForwardWithAux"/> returns, in the order of torchvision's GoogLeNetOutputs
/// (logits, aux_logits2, aux_logits1). The auxiliary logits are null outside training or without auxiliary heads.
/// </summary>
/// <param name="Logits">The main classifier's output (N, classes).</param>
/// <param name="Aux2">The output of the <c>aux2</c> head (after inception4d), or null.</param>
/// <param name="Aux1">The output of the <c>aux1</c> head (after inception4a), or null.</param>
public readonly record struct GoogLeNetOutputs(Tensor Logits, Tensor? Aux2, Tensor? Aux1);

/// <summary>Convolution without bias, batch norm (eps 0.001) and ReLU (torchvision.models.googlenet.BasicConv2d).</summary>
public sealed class BasicConv2d : Module<Tensor, Tensor>
{
    readonly Conv2d conv;
    readonly BatchNorm2d bn;

    /// <summary>Builds the block; the convolution takes the given kernel size, stride and padding.</summary>
    public BasicConv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0)
    {
        conv = new Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, bias: false);
        bn = new BatchNorm2d(outChannels, eps: 0.001);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => bn.Call(conv.Call(input)).Relu();
}

/// <summary>
/// An Inception module (torchvision.models.googlenet.Inception): four parallel branches concatenated on channels —
/// 1×1; 1×1 then 3×3; 1×1 then 3×3 (torchvision keeps this 3×3 where the paper has 5×5, so its weights load);
/// 3×3 max pooling then 1×1.
/// </summary>
public sealed class Inception : Module<Tensor, Tensor>
{
    readonly BasicConv2d branch1;
    readonly Sequential branch2, branch3, branch4;

    /// <summary>Builds the module (Inception(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)).</summary>
    public Inception(int inChannels, int ch1x1, int ch3x3Reduce, int ch3x3, int ch5x5Reduce, int ch5x5, int poolProj)
    {
        branch1 = new BasicConv2d(inChannels, ch1x1, 1);
        branch2 = new Sequential(new BasicConv2d(inChannels, ch3x3Reduce, 1), new BasicConv2d(ch3x3Reduce, ch3x3, 3, padding: 1));
        branch3 = new Sequential(new BasicConv2d(inChannels, ch5x5Reduce, 1), new BasicConv2d(ch5x5Reduce, ch5x5, 3, padding: 1));
        branch4 = new Sequential(new MaxPool2d(3, stride: 1, padding: 1, ceilMode: true), new BasicConv2d(inChannels, poolProj, 1));
    }

    /// <summary>Output channels: ch1x1 + ch3x3 + ch5x5 + pool_proj.</summary>
    public override Tensor Forward(Tensor input) =>
        Tensor.Cat([branch1.Call(input), branch2.Call(input), branch3.Call(input), branch4.Call(input)], 1);
}

/// <summary>
/// An auxiliary classifier (torchvision.models.googlenet.InceptionAux): adaptive average pooling to 4×4, a 1×1
/// BasicConv2d to 128 channels, then 2048-1024-classes with ReLU and dropout.
/// </summary>
public sealed class InceptionAux : Module<Tensor, Tensor>
{
    readonly BasicConv2d conv;
    readonly Linear fc1;
    Linear fc2;
    readonly Dropout dropout;

    /// <summary>Builds the head (InceptionAux(in_channels, num_classes, dropout=0.7)).</summary>
    public InceptionAux(int inChannels, int numClasses, double dropout = 0.7)
    {
        conv = new BasicConv2d(inChannels, 128, 1);
        fc1 = new Linear(2048, 1024);
        fc2 = new Linear(1024, numClasses);
        this.dropout = new Dropout(dropout);
    }

    /// <summary>Replaces "fc2" by a new Linear(1024, <paramref name="numClasses"/>), trunc_normal_(std 0.01) as GoogLeNet initialises it.</summary>
    public void ResetClassifier(int numClasses)
    {
        fc2 = new Linear(1024, numClasses);
        Init.TruncNormal(fc2.Weight, 0, 0.01, -2, 2);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = F.AdaptiveAvgPool2d(input, 4);     // (N, C, 4, 4)
        x = conv.Call(x).Flatten(1);               // (N, 2048)
        x = dropout.Call(fc1.Call(x).Relu());      // (N, 1024)
        return fc2.Call(x);                        // (N, classes)
    }
}

/// <summary>
/// GoogLeNet, Inception v1 (torchvision.models.GoogLeNet; Szegedy et al. 2014), with batch norm in every convolution
/// block as in torchvision. <see cref="Forward"/> returns the main logits. In training mode with auxiliary heads
/// (<c>auxLogits</c>, the default) <see cref="ForwardWithAux"/> also returns the two auxiliary classifiers' logits, for
/// the loss <c>main + 0.3·(aux1 + aux2)</c> of the paper. State-dict keys and shapes match torchvision
/// ("inception3a.branch2.1.conv.weight", "aux1.fc2.bias"); convolution and linear weights are initialised with
/// trunc_normal_(std=0.01, a=−2, b=2) and batch norm with weight 1, bias 0, as torchvision's init_weights=True.
/// <c>transformInput</c> re-normalises inputs prepared with ImageNet mean/std to the (x−0.5)/0.5 scaling of the original
/// weights (torchvision sets it for its pretrained weights).
/// </summary>
public sealed class GoogLeNet : Module<Tensor, Tensor>, IClassifierModel
{
    readonly BasicConv2d conv1;
    readonly MaxPool2d maxpool1 = new(3, stride: 2, ceilMode: true);
    readonly BasicConv2d conv2;
    readonly BasicConv2d conv3;
    readonly MaxPool2d maxpool2 = new(3, stride: 2, ceilMode: true);
    readonly Inception inception3a, inception3b;
    readonly MaxPool2d maxpool3 = new(3, stride: 2, ceilMode: true);
    readonly Inception inception4a, inception4b, inception4c, inception4d, inception4e;
    readonly MaxPool2d maxpool4 = new(2, stride: 2, ceilMode: true);
    readonly Inception inception5a, inception5b;
    readonly InceptionAux? aux1, aux2;
    readonly AdaptiveAvgPool2d avgpool = new(1);
    readonly Dropout dropout;
    Linear fc;

    /// <summary>Whether the auxiliary heads exist (aux_logits).</summary>
    public bool AuxLogits { get; }
    /// <summary>Whether inputs are re-normalised from ImageNet mean/std to (x−0.5)/0.5 (transform_input).</summary>
    public bool TransformInput { get; }
    /// <summary>Input channels of the first convolution.</summary>
    public int InChannels { get; }

    /// <summary>
    /// Builds the network (torchvision.models.GoogLeNet(num_classes, aux_logits, transform_input, init_weights=True,
    /// dropout, dropout_aux)). <paramref name="transformInput"/> needs three input channels.
    /// </summary>
    public GoogLeNet(int numClasses = 1000, int inChannels = 3, bool auxLogits = true, bool transformInput = false,
        double dropout = 0.2, double dropoutAux = 0.7)
    {
        ZooChecks.Classes(numClasses, inChannels, nameof(GoogLeNet));
        if (transformInput && inChannels != 3)
            throw new ArgumentException($"GoogLeNet: transformInput re-normalises RGB images and needs inChannels = 3, got {inChannels}", nameof(transformInput));
        AuxLogits = auxLogits; TransformInput = transformInput; InChannels = inChannels;
        conv1 = new BasicConv2d(inChannels, 64, 7, stride: 2, padding: 3);
        conv2 = new BasicConv2d(64, 64, 1);
        conv3 = new BasicConv2d(64, 192, 3, padding: 1);
        inception3a = new Inception(192, 64, 96, 128, 16, 32, 32);
        inception3b = new Inception(256, 128, 128, 192, 32, 96, 64);
        inception4a = new Inception(480, 192, 96, 208, 16, 48, 64);
        inception4b = new Inception(512, 160, 112, 224, 24, 64, 64);
        inception4c = new Inception(512, 128, 128, 256, 24, 64, 64);
        inception4d = new Inception(512, 112, 144, 288, 32, 64, 64);
        inception4e = new Inception(528, 256, 160, 320, 32, 128, 128);
        inception5a = new Inception(832, 256, 160, 320, 32, 128, 128);
        inception5b = new Inception(832, 384, 192, 384, 48, 128, 128);
        if (auxLogits)
        {
            aux1 = new InceptionAux(512, numClasses, dropoutAux);
            aux2 = new InceptionAux(528, numClasses, dropoutAux);
        }
        this.dropout = new Dropout(dropout);
        fc = new Linear(1024, numClasses);

        foreach (var m in Modules())
        {
            if (m is Conv2d conv) Init.TruncNormal(conv.Weight, 0, 0.01, -2, 2);
            else if (m is Linear linear) Init.TruncNormal(linear.Weight, 0, 0.01, -2, 2);
            else if (m is BatchNorm2d bn) { Init.Ones(bn.Weight!); Init.Zeros(bn.Bias!); }
        }
    }

    /// <inheritdoc/>
    public int NumClasses => fc.OutFeatures;

    /// <summary>The main classifier "fc".</summary>
    public Module Head => fc;

    /// <summary>"fc", and "aux1.fc2", "aux2.fc2" with auxiliary heads (the layers <see cref="ResetClassifier"/> replaces).</summary>
    public IReadOnlyList<string> HeadNames => AuxLogits ? ["fc", "aux1.fc2", "aux2.fc2"] : ["fc"];

    /// <summary>
    /// Replaces "fc" and each auxiliary head's last layer "fc2" by new Linear layers for <paramref name="numClasses"/> classes,
    /// trunc_normal_(std 0.01) with PyTorch's default bias, as the constructor initialises them.
    /// </summary>
    public void ResetClassifier(int numClasses)
    {
        ZooChecks.Classes(numClasses, InChannels, nameof(GoogLeNet));
        fc = new Linear(1024, numClasses);
        Init.TruncNormal(fc.Weight, 0, 0.01, -2, 2);
        aux1?.ResetClassifier(numClasses);
        aux2?.ResetClassifier(numClasses);
    }

    /// <summary>The main logits (N, classes), in training and evaluation alike (torchvision returns only these in eval mode).</summary>
    public override Tensor Forward(Tensor input) => ForwardWithAux(input).Logits;

    /// <summary><see cref="ForwardWithAux"/> through the module's hooks (torchvision's <c>model(x)</c> in training mode).</summary>
    public GoogLeNetOutputs CallWithAux(Tensor input) => Invoke(this, ValueTuple.Create(input), static (m, a) => m.ForwardWithAux(a.Item1));

    /// <summary>
    /// The main logits and, in training mode with auxiliary heads, the auxiliary ones (torchvision's GoogLeNetOutputs).
    /// Note that torchvision 0.14 swaps the two auxiliary outputs between its namedtuple's fields (aux_logits1 holds the
    /// aux2 head's output); here <see cref="GoogLeNetOutputs.Aux1"/> is always the <c>aux1</c> head's.
    /// </summary>
    public GoogLeNetOutputs ForwardWithAux(Tensor input)
    {
        ZooChecks.Image(input, 15, nameof(GoogLeNet), InChannels);
        var x = TransformInput ? Renormalise(input) : input;
        x = maxpool1.Call(conv1.Call(x));                                   // (N, 64, H/4, W/4)
        x = maxpool2.Call(conv3.Call(conv2.Call(x)));                       // (N, 192, H/8, W/8)
        x = maxpool3.Call(inception3b.Call(inception3a.Call(x)));           // (N, 480, H/16, W/16)
        x = inception4a.Call(x);                                            // (N, 512, ..)
        bool aux = IsTraining && aux1 != null && aux2 != null;
        var auxOut1 = aux ? aux1!.Call(x) : null;
        x = inception4d.Call(inception4c.Call(inception4b.Call(x)));        // (N, 528, ..)
        var auxOut2 = aux ? aux2!.Call(x) : null;
        x = maxpool4.Call(inception4e.Call(x));                             // (N, 832, H/32, W/32)
        x = inception5b.Call(inception5a.Call(x));                          // (N, 1024, ..)
        x = dropout.Call(avgpool.Call(x).Flatten(1));                       // (N, 1024)
        return new GoogLeNetOutputs(fc.Call(x), auxOut2, auxOut1);
    }

    /// <summary>x·std/0.5 + (mean−0.5)/0.5 per channel with ImageNet's mean and std (GoogLeNet._transform_input).</summary>
    static Tensor Renormalise(Tensor x)
    {
        double[] mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
        var channels = new Tensor[3];
        for (int c = 0; c < 3; c++)
            channels[c] = x.Narrow(1, c, 1).Mul(std[c] / 0.5).Add((mean[c] - 0.5) / 0.5);
        return Tensor.Cat(channels, 1);
    }
}
