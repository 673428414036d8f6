using DeepSharp.NN;

namespace DeepSharp.Vision.Models;

/// <summary>
/// An image classifier whose final classification layer can be found and replaced, for transfer learning (timm's
/// get_classifier()/reset_classifier(); in torchvision one assigns model.fc, model.classifier[-1] or model.heads.head).
/// Every model of the <see cref="ModelZoo"/> implements it.
/// </summary>
public interface IClassifierModel
{
    /// <summary>Number of classes the model predicts (the head's output size).</summary>
    int NumClasses { get; }

    /// <summary>The final classification layer (ResNet "fc", VGG "classifier.6", ViT "heads.head", ...).</summary>
    Module Head { get; }

    /// <summary>
    /// The state-dict prefixes of every layer that <see cref="ResetClassifier"/> replaces: the head, and for GoogLeNet also
    /// the last layer of each auxiliary classifier ("fc", "aux1.fc2", "aux2.fc2").
    /// </summary>
    IReadOnlyList<string> HeadNames { get; }

    /// <summary>
    /// Replaces the classification layer(s) by freshly initialised ones for <paramref name="numClasses"/> classes, initialised
    /// as the model's constructor initialises them (model.fc = nn.Linear(model.fc.in_features, num_classes)).
    /// </summary>
    void ResetClassifier(int numClasses);
}
