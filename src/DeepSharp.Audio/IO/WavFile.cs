using System.Buffers.Binary;

namespace DeepSharp.Audio;

/// <summary>Sample encodings a WAV file can hold (torchaudio.save's encoding + bits_per_sample).</summary>
public enum WavEncoding
{
    /// <summary>16-bit signed PCM (encoding="PCM_S", bits_per_sample=16).</summary>
    Pcm16,
    /// <summary>24-bit signed PCM (encoding="PCM_S", bits_per_sample=24).</summary>
    Pcm24,
    /// <summary>32-bit signed PCM (encoding="PCM_S", bits_per_sample=32).</summary>
    Pcm32,
    /// <summary>32-bit IEEE float (encoding="PCM_F", bits_per_sample=32).</summary>
    Float32,
}

/// <summary>
/// RIFF/WAVE reading and writing (torchaudio.load / torchaudio.save for WAV): PCM 8/16/24/32-bit, IEEE float 32/64,
/// WAVE_FORMAT_EXTENSIBLE, any channel count. Waveforms are float32 tensors of shape (channels, frames) scaled to [-1, 1].
/// </summary>
public static class WavFile
{
    const ushort FormatPcm = 1, FormatFloat = 3, FormatExtensible = 0xFFFE;

    /// <summary>Reads a WAV file (torchaudio.load(path), normalize=True): returns (waveform (C, N) float32, sample rate).</summary>
    public static (Tensor Waveform, int SampleRate) Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"WavFile.Read: no file '{path}'", path);
        try { return Decode(File.ReadAllBytes(path)); }
        catch (InvalidDataException e) { throw new InvalidDataException($"WavFile.Read: '{path}': {e.Message}", e); }
    }

    /// <summary>Decodes the bytes of a WAV file (torchaudio.load on a file object).</summary>
    public static (Tensor Waveform, int SampleRate) Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 12 || !Tag(bytes, 0, "RIFF") || !Tag(bytes, 8, "WAVE"))
            throw new InvalidDataException("not a RIFF/WAVE file (the header must start with 'RIFF' .... 'WAVE')");
        int pos = 12;
        Format? format = null;
        while (pos + 8 <= bytes.Length)
        {
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(pos + 4)..]);
            int body = pos + 8;
            if (Tag(bytes, pos, "fmt ")) format = ReadFormat(bytes.Slice(body, (int)Math.Min(size, (uint)(bytes.Length - body))));
            else if (Tag(bytes, pos, "data"))
            {
                if (format is not { } f) throw new InvalidDataException("the 'data' chunk comes before any 'fmt ' chunk");
                // Streams written without knowing their length say 0 or 0xFFFFFFFF: take what is there.
                long available = bytes.Length - body;
                long length = size == 0 || size == uint.MaxValue || size > available ? available : size;
                return (Samples(bytes.Slice(body, (int)length), f), f.SampleRate);
            }
            pos = body + (int)Math.Min(size + (size & 1), (uint)(bytes.Length - body));
        }
        throw new InvalidDataException(format == null ? "no 'fmt ' chunk" : "no 'data' chunk");
    }

    readonly record struct Format(ushort Code, int Channels, int SampleRate, int Bits, int BlockAlign);

    static Format ReadFormat(ReadOnlySpan<byte> b)
    {
        if (b.Length < 16) throw new InvalidDataException($"the 'fmt ' chunk has {b.Length} bytes, fewer than the 16 a WAVE format needs");
        ushort code = BinaryPrimitives.ReadUInt16LittleEndian(b);
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(b[2..]);
        int rate = (int)BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        int blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(b[12..]);
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(b[14..]);
        if (code == FormatExtensible)
        {
            if (b.Length < 26) throw new InvalidDataException("WAVE_FORMAT_EXTENSIBLE header is shorter than 26 bytes");
            code = BinaryPrimitives.ReadUInt16LittleEndian(b[24..]);   // the sub-format GUID's first two bytes
        }
        if (channels < 1) throw new InvalidDataException($"channel count is {channels}");
        if (rate < 1) throw new InvalidDataException($"sample rate is {rate}");
        bool ok = code == FormatPcm && bits is 8 or 16 or 24 or 32 || code == FormatFloat && bits is 32 or 64;
        if (!ok) throw new InvalidDataException($"unsupported sample format (format code {code}, {bits} bits per sample); PCM 8/16/24/32-bit and float 32/64-bit are read");
        if (blockAlign != channels * bits / 8)
            throw new InvalidDataException($"block align {blockAlign} does not match {channels} channels of {bits} bits");
        return new Format(code, channels, rate, bits, blockAlign);
    }

    static Tensor Samples(ReadOnlySpan<byte> data, Format f)
    {
        int frames = data.Length / f.BlockAlign, c = f.Channels, bytesPer = f.Bits / 8;
        var output = new float[c * frames];
        for (int i = 0; i < frames; i++)
            for (int ch = 0; ch < c; ch++)
                output[ch * frames + i] = Sample(data.Slice(i * f.BlockAlign + ch * bytesPer, bytesPer), f);
        return Tensor.FromArray(output, c, frames);
    }

    static float Sample(ReadOnlySpan<byte> s, Format f) => (f.Code, f.Bits) switch
    {
        (FormatFloat, 32) => BinaryPrimitives.ReadSingleLittleEndian(s),
        (FormatFloat, _) => (float)BinaryPrimitives.ReadDoubleLittleEndian(s),
        (_, 8) => (s[0] - 128) / 128f,
        (_, 16) => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768f,
        (_, 24) => ((s[0] | s[1] << 8 | s[2] << 16) << 8 >> 8) / 8388608f,
        _ => (float)(BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648.0),
    };

    /// <summary>
    /// Writes a waveform of shape (channels, frames) or (frames) (torchaudio.save(path, src, sample_rate, encoding,
    /// bits_per_sample)); PCM samples are clipped to [-1, 1] and rounded.
    /// </summary>
    public static void Write(string path, Tensor waveform, int sampleRate, WavEncoding encoding = WavEncoding.Pcm16)
    {
        ArgumentNullException.ThrowIfNull(path);
        File.WriteAllBytes(path, Encode(waveform, sampleRate, encoding));
    }

    /// <summary>The bytes of a WAV file holding <paramref name="waveform"/> (see <see cref="Write"/>).</summary>
    public static byte[] Encode(Tensor waveform, int sampleRate, WavEncoding encoding = WavEncoding.Pcm16)
    {
        ArgumentNullException.ThrowIfNull(waveform);
        if (waveform.Rank is not (1 or 2))
            throw new ArgumentException($"WavFile.Write: waveform must be (frames) or (channels, frames), got shape [{string.Join(", ", waveform.Shape)}]", nameof(waveform));
        if (sampleRate < 1) throw new ArgumentException($"WavFile.Write: sampleRate must be positive, got {sampleRate}", nameof(sampleRate));
        var w = (waveform.Rank == 1 ? waveform.Unsqueeze(0) : waveform).Detach().To(DType.Float32).Contiguous();
        int c = w.Size(0), frames = w.Size(1);
        if (c > ushort.MaxValue) throw new ArgumentException($"WavFile.Write: {c} channels is more than a WAV file can hold (treat a (frames, channels) tensor with .T)", nameof(waveform));
        int bits = encoding switch { WavEncoding.Pcm16 => 16, WavEncoding.Pcm24 => 24, _ => 32 }, bytesPer = bits / 8;
        long dataLength = (long)frames * c * bytesPer;
        if (dataLength > uint.MaxValue - 44) throw new ArgumentException($"WavFile.Write: {dataLength} bytes of samples do not fit a RIFF file", nameof(waveform));
        var bytes = new byte[44 + dataLength];
        var span = bytes.AsSpan();
        "RIFF"u8.CopyTo(span); BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)(36 + dataLength)); "WAVE"u8.CopyTo(span[8..]);
        "fmt "u8.CopyTo(span[12..]); BinaryPrimitives.WriteUInt32LittleEndian(span[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(span[20..], encoding == WavEncoding.Float32 ? FormatFloat : FormatPcm);
        BinaryPrimitives.WriteUInt16LittleEndian(span[22..], (ushort)c);
        BinaryPrimitives.WriteUInt32LittleEndian(span[24..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(span[28..], (uint)(sampleRate * c * bytesPer));
        BinaryPrimitives.WriteUInt16LittleEndian(span[32..], (ushort)(c * bytesPer));
        BinaryPrimitives.WriteUInt16LittleEndian(span[34..], (ushort)bits);
        "data"u8.CopyTo(span[36..]); BinaryPrimitives.WriteUInt32LittleEndian(span[40..], (uint)dataLength);
        var samples = w.AsReadOnlySpan<float>();
        for (int i = 0; i < frames; i++)
            for (int ch = 0; ch < c; ch++)
                WriteSample(span.Slice(44 + (i * c + ch) * bytesPer, bytesPer), samples[ch * frames + i], encoding);
        return bytes;
    }

    static void WriteSample(Span<byte> d, float x, WavEncoding encoding)
    {
        if (encoding == WavEncoding.Float32) { BinaryPrimitives.WriteSingleLittleEndian(d, x); return; }
        double v = Math.Clamp(double.IsNaN(x) ? 0 : x, -1.0, 1.0);
        switch (encoding)
        {
            case WavEncoding.Pcm16: BinaryPrimitives.WriteInt16LittleEndian(d, (short)Math.Clamp(Math.Round(v * 32768), -32768, 32767)); break;
            case WavEncoding.Pcm24:
                int s = (int)Math.Clamp(Math.Round(v * 8388608), -8388608, 8388607);
                d[0] = (byte)s; d[1] = (byte)(s >> 8); d[2] = (byte)(s >> 16); break;
            default: BinaryPrimitives.WriteInt32LittleEndian(d, (int)Math.Clamp(Math.Round(v * 2147483648.0), int.MinValue, int.MaxValue)); break;
        }
    }

    static bool Tag(ReadOnlySpan<byte> b, int at, string tag) =>
        at + 4 <= b.Length && b[at] == tag[0] && b[at + 1] == tag[1] && b[at + 2] == tag[2] && b[at + 3] == tag[3];
}
