using System.Text;

namespace Porter.Contracts.Serialization;

/// <summary>Compact binary encodings shared by Porter's cluster serializers (length-prefixed, little-endian, UTF-8).</summary>
public static class BinaryFields
{
    public static void WriteNullableString(this BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null) writer.Write(value);
    }

    public static string? ReadNullableString(this BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;

    public static void WriteBytes(this BinaryWriter writer, byte[] bytes)
    {
        writer.Write7BitEncodedInt(bytes.Length);
        writer.Write(bytes);
    }

    public static byte[] ReadBytes(this BinaryReader reader)
    {
        var length = reader.Read7BitEncodedInt();
        var bytes = reader.ReadBytes(length);
        if (bytes.Length != length) throw new EndOfStreamException("truncated byte field");
        return bytes;
    }

    public static void WriteTime(this BinaryWriter writer, DateTimeOffset time) => writer.Write(time.UtcTicks);

    public static DateTimeOffset ReadTime(this BinaryReader reader) => new(reader.ReadInt64(), TimeSpan.Zero);

    public static void WriteDuration(this BinaryWriter writer, TimeSpan duration) => writer.Write(duration.Ticks);

    public static TimeSpan ReadDuration(this BinaryReader reader) => TimeSpan.FromTicks(reader.ReadInt64());

    public static void WriteArray<T>(this BinaryWriter writer, IReadOnlyList<T> items, Action<BinaryWriter, T> write)
    {
        writer.Write7BitEncodedInt(items.Count);
        foreach (var item in items) write(writer, item);
    }

    public static T[] ReadArray<T>(this BinaryReader reader, Func<BinaryReader, T> read)
    {
        var count = reader.Read7BitEncodedInt();
        var items = new T[count];
        for (var i = 0; i < count; i++) items[i] = read(reader);
        return items;
    }

    /// <summary>Runs <paramref name="write"/> against a fresh buffer and returns its bytes.</summary>
    public static byte[] Encode(Action<BinaryWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true)) write(writer);
        return stream.ToArray();
    }

    public static T Decode<T>(byte[] bytes, Func<BinaryReader, T> read)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes, writable: false), Encoding.UTF8);
        return read(reader);
    }
}
