namespace DeepSharp.Quantization;

// HistogramObserver's parameter search (_non_linear_param_search and _compute_quantization_error).
public sealed partial class HistogramObserver
{
    /// <inheritdoc/>
    public override QParams CalculateQParams()
    {
        if (float.IsPositiveInfinity(MinVal) && float.IsNegativeInfinity(MaxVal)) return new QParams([1f], [0]);
        var (lo, hi) = NonLinearParamSearch();
        return QParamsCalculator.Calculate([lo], [hi], QScheme, DType, Range, CustomRange, Eps);
    }

    /// <summary>
    /// Narrows [min, max] one bin at a time from the side holding less mass (steps of 1e-5 of the total), while the L2
    /// quantization error keeps falling (caffe2's NormMinimization::NonlinearQuantizationParamsSearch).
    /// </summary>
    (float Min, float Max) NonLinearParamSearch()
    {
        float binWidth = (MaxVal - MinVal) / bins;
        double total = 0; foreach (var h in Histogram) total += h;
        total = (float)total;
        var cSum = new float[bins];
        float running = 0;
        for (int i = 0; i < bins; i++) { running += Histogram[i]; cSum[i] = running; }
        const double stepSize = 1e-5;
        double alpha = 0, beta = 1;
        int startBin = 0, endBin = bins - 1;
        double normMin = double.PositiveInfinity;
        while (alpha < beta)
        {
            double nextAlpha = alpha + stepSize, nextBeta = beta - stepSize;
            int l = startBin, r = endBin;
            while (l < endBin && cSum[l] < (float)(nextAlpha * total)) l++;
            while (r > startBin && cSum[r] > (float)(nextBeta * total)) r--;
            int nextStart = startBin, nextEnd = endBin;
            if (l - startBin > endBin - r) { nextStart = l; alpha = nextAlpha; }
            else { nextEnd = r; beta = nextBeta; }
            if (nextStart == startBin && nextEnd == endBin) continue;
            double norm = QuantizationError(nextStart, nextEnd);
            if (norm > normMin) break;
            normMin = norm; startBin = nextStart; endBin = nextEnd;
        }
        return (MinVal + binWidth * startBin, MinVal + binWidth * (endBin + 1));
    }

    /// <summary>L2 error of quantizing the histogram to 256 levels over bins [startBin, endBin] (float32 as PyTorch).</summary>
    double QuantizationError(int startBin, int endBin)
    {
        double binWidthD = ((double)MaxVal - MinVal) / bins;
        double dstBinWidthD = binWidthD * (endBin - startBin + 1) / dstBins;
        if (dstBinWidthD == 0) return 0;
        float binWidth = (float)binWidthD, dstBinWidth = (float)dstBinWidthD, half = (float)(dstBinWidthD / 2);
        float fullNorm = Norm(-half, half);
        float sum = 0;
        for (int i = 0; i < bins; i++)
        {
            float begin = (i - startBin) * binWidth, end = begin + binWidth;
            float dstBegin = Math.Clamp(FloorDiv(begin, dstBinWidth), 0, dstBins - 1);
            float dstEnd = Math.Clamp(FloorDiv(end, dstBinWidth), 0, dstBins - 1);
            float density = Histogram[i] / binWidth;
            float norm = 0;
            norm += density * Norm(begin - (dstBegin + 0.5f) * dstBinWidth, half);
            norm += (dstEnd - dstBegin - 1) * (density * fullNorm);
            norm += density * Norm(-half, end - (dstEnd * dstBinWidth + half));
            sum += norm;
        }
        return sum;
    }

    static float Norm(float deltaBegin, float deltaEnd) => (deltaEnd * deltaEnd * deltaEnd - deltaBegin * deltaBegin * deltaBegin) / 3;

    // torch.div(a, b, rounding_mode='floor') for floats (ATen's div_floor: fmod-based, Python semantics)
    static float FloorDiv(float a, float b)
    {
        float mod = a % b;
        float div = (a - mod) / b;
        if (mod != 0 && (b < 0) != (mod < 0)) div -= 1;
        float floorDiv = MathF.Floor(div);
        if (div - floorDiv > 0.5f) floorDiv += 1;
        return floorDiv;
    }
}
