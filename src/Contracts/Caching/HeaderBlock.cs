using System.Buffers;
using System.Text;

namespace Porter.Contracts.Caching;

/// <summary>
/// A stored response's header fields pre-serialised into one byte array: how a cache node keeps them (one object per
/// entry instead of a string and an array per field) and how they travel between nodes.
/// </summary>
/// <remarks>
/// Layout: a 7-bit-encoded field count, then per field its name and its value count, then each value; every string
/// is a 7-bit-encoded byte length and UTF-8 bytes. Lossless for any field list, including repeated names, fields
/// with several lines and empty values. Names that responses commonly carry decode to shared string instances.
/// </remarks>
public static class HeaderBlock
{
    /// <summary>The block of no fields.</summary>
    public static readonly byte[] Empty = [0];

    // Decoded names are shared instead of allocated per entry; the list is what apps commonly send on cacheable answers.
    private static readonly string[] CommonNames =
    [
        "Date", "Cache-Control", "Content-Type", "ETag", "Last-Modified", "Expires", "Vary", "Content-Encoding",
        "Content-Language", "Content-Location", "Content-Disposition", "Accept-Ranges", "Access-Control-Allow-Origin",
        "Link", "Server", "X-Powered-By", "X-Content-Type-Options", "X-Frame-Options", "Strict-Transport-Security",
        "Content-Security-Policy", "Referrer-Policy", "Location", "Set-Cookie", "Pragma", "Age", "Via",
    ];

    /// <summary>Encodes <paramref name="fields"/> (name, values) into a block.</summary>
    public static byte[] Encode(IReadOnlyList<HeaderField> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var builder = new Builder(fields.Count);
        foreach (var field in fields)
        {
            builder.AddName(field.Name, field.Values.Length);
            foreach (var value in field.Values)
                builder.AddValue(value);
        }
        return builder.ToArray();
    }

    /// <summary>The fields of a block, in order.</summary>
    /// <exception cref="FormatException">The bytes are not a header block.</exception>
    public static HeaderField[] Decode(ReadOnlySpan<byte> block)
    {
        var reader = new Reader(block);
        int count = reader.ReadCount();
        var fields = new HeaderField[count];
        for (int i = 0; i < count; i++)
        {
            var name = reader.ReadName();
            var values = new string[reader.ReadCount()];
            for (int v = 0; v < values.Length; v++)
                values[v] = reader.ReadString();
            fields[i] = new HeaderField(name, values);
        }
        reader.EnsureEnd();
        return fields;
    }

    /// <summary>Whether the block has a field named <paramref name="name"/> (ASCII, case-insensitive), without decoding any string.</summary>
    public static bool Contains(ReadOnlySpan<byte> block, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var reader = new Reader(block);
        int count = reader.ReadCount();
        for (int i = 0; i < count; i++)
        {
            if (Ascii.EqualsIgnoreCase(reader.ReadBytes(), name))
                return true;
            int values = reader.ReadCount();
            for (int v = 0; v < values; v++)
                reader.ReadBytes();
        }
        return false;
    }

    /// <summary>Appends fields one at a time: <see cref="AddName"/> with the field's value count, then that many <see cref="AddValue"/>.</summary>
    public sealed class Builder
    {
        private readonly ArrayBufferWriter<byte> _buffer;
        private readonly int _fields;
        private int _added;

        public Builder(int fieldCount, int sizeHint = 256)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(fieldCount);
            _fields = fieldCount;
            _buffer = new ArrayBufferWriter<byte>(sizeHint);
            WriteCount(fieldCount);
        }

        public void AddName(string name, int valueCount)
        {
            ArgumentNullException.ThrowIfNull(name);
            ArgumentOutOfRangeException.ThrowIfNegative(valueCount);
            if (++_added > _fields)
                throw new InvalidOperationException($"The block was declared with {_fields} fields.");
            WriteString(name);
            WriteCount(valueCount);
        }

        public void AddValue(string value) => WriteString(value ?? "");

        /// <summary>The block, exactly as long as its content.</summary>
        public byte[] ToArray()
        {
            if (_added != _fields)
                throw new InvalidOperationException($"The block was declared with {_fields} fields but has {_added}.");
            return _buffer.WrittenSpan.ToArray();
        }

        private void WriteString(string value)
        {
            int length = Encoding.UTF8.GetByteCount(value);
            WriteCount(length);
            Encoding.UTF8.GetBytes(value, _buffer.GetSpan(length));
            _buffer.Advance(length);
        }

        private void WriteCount(int value)
        {
            var span = _buffer.GetSpan(5);
            int i = 0;
            uint v = (uint)value;
            while (v >= 0x80)
            {
                span[i++] = (byte)(v | 0x80);
                v >>= 7;
            }
            span[i++] = (byte)v;
            _buffer.Advance(i);
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> block)
    {
        private readonly ReadOnlySpan<byte> _block = block;
        private int _position;

        public int ReadCount()
        {
            uint result = 0;
            for (int shift = 0; shift < 35; shift += 7)
            {
                if (_position >= _block.Length)
                    throw new FormatException("Truncated header block.");
                byte b = _block[_position++];
                result |= (uint)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                    return result <= int.MaxValue ? (int)result : throw new FormatException("Header block count out of range.");
            }
            throw new FormatException("Malformed count in a header block.");
        }

        public ReadOnlySpan<byte> ReadBytes()
        {
            int length = ReadCount();
            if (length > _block.Length - _position)
                throw new FormatException("Truncated header block.");
            var bytes = _block.Slice(_position, length);
            _position += length;
            return bytes;
        }

        public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

        public string ReadName()
        {
            var bytes = ReadBytes();
            foreach (var common in CommonNames)
            {
                if (common.Length == bytes.Length && Ascii.Equals(bytes, common))
                    return common;
            }
            return Encoding.UTF8.GetString(bytes);
        }

        public readonly void EnsureEnd()
        {
            if (_position != _block.Length)
                throw new FormatException("Trailing bytes after a header block.");
        }
    }
}
