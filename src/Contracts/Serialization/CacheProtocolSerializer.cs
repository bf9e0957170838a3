using Akka.Actor;
using Akka.Serialization;
using Porter.Contracts.Caching;

namespace Porter.Contracts.Serialization;

/// <summary>
/// Binary serializer for the turbocache protocols (<see cref="ICacheMessage"/>, <see cref="INearCacheMessage"/>): bodies
/// and header blocks (<see cref="HeaderBlock"/>) travel as raw bytes, never as JSON or base64. Manifests are two letters.
/// </summary>
public sealed class CacheProtocolSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>Porter's serializer ids start above Akka's reserved range.</summary>
    public const int Id = 201;

    private const string LookupManifest = "cl";
    private const string LookupResultManifest = "cr";
    private const string StoreManifest = "cs";
    private const string FillAbandonedManifest = "cf";
    private const string InvalidateManifest = "ci";
    private const string InvalidatedManifest = "cv";
    private const string ProbeManifest = "cp";
    private const string ProbedManifest = "cq";
    private const string NearInvalidateManifest = "ni";
    private const string NearInvalidatedManifest = "nv";

    public override int Identifier => Id;

    public override string Manifest(object o) => o switch
    {
        CacheProtocol.Lookup => LookupManifest,
        CacheProtocol.LookupResult => LookupResultManifest,
        CacheProtocol.Store => StoreManifest,
        CacheProtocol.FillAbandoned => FillAbandonedManifest,
        CacheProtocol.Invalidate => InvalidateManifest,
        CacheProtocol.Invalidated => InvalidatedManifest,
        CacheProtocol.Probe => ProbeManifest,
        CacheProtocol.Probed => ProbedManifest,
        NearCacheProtocol.Invalidate => NearInvalidateManifest,
        NearCacheProtocol.Invalidated => NearInvalidatedManifest,
        _ => throw new ArgumentException($"{o.GetType()} is not a turbocache message", nameof(o)),
    };

    public override byte[] ToBinary(object obj) => BinaryFields.Encode(w =>
    {
        switch (obj)
        {
            case NearCacheProtocol.Invalidate near:
                w.WriteArray(near.Keys, (ww, key) => ww.Write(key.Value));
                return;
            case NearCacheProtocol.Invalidated:
                return;
            case ICacheMessage message:
                w.Write(message.Key.Value);
                break;
        }
        switch (obj)
        {
            case CacheProtocol.Lookup lookup:
                w.WriteArray(lookup.RequestHeaders, WriteHeader);
                w.Write((byte)lookup.Mode);
                w.Write(lookup.RequestId);
                break;
            case CacheProtocol.LookupResult result:
                w.Write((byte)result.Outcome);
                w.Write(result.Entry is not null);
                if (result.Entry is not null) WriteEntry(w, result.Entry);
                w.Write(result.Home);
                break;
            case CacheProtocol.Store store:
                WriteEntry(w, store.Entry);
                break;
            case CacheProtocol.FillAbandoned abandoned:
                w.Write(abandoned.PassThrough);
                w.Write(abandoned.RequestId);
                break;
            case CacheProtocol.Probed probed:
                w.Write(probed.Home);
                break;
            case CacheProtocol.Invalidate or CacheProtocol.Invalidated or CacheProtocol.Probe:
                break;
            default:
                throw new ArgumentException($"{obj.GetType()} is not a turbocache message", nameof(obj));
        }
    });

    public override object FromBinary(byte[] bytes, string manifest) => BinaryFields.Decode<object>(bytes, r =>
    {
        switch (manifest)
        {
            case NearInvalidateManifest:
                return new NearCacheProtocol.Invalidate(r.ReadArray(rr => new CacheKey(rr.ReadString())));
            case NearInvalidatedManifest:
                return NearCacheProtocol.Invalidated.Instance;
        }
        var key = new CacheKey(r.ReadString());
        return manifest switch
        {
            LookupManifest => new CacheProtocol.Lookup(key, r.ReadArray(ReadHeader), (LookupMode)r.ReadByte(), r.ReadInt64()),
            LookupResultManifest => new CacheProtocol.LookupResult(key, (LookupOutcome)r.ReadByte(), r.ReadBoolean() ? ReadEntry(r) : null,
                r.ReadString()),
            StoreManifest => new CacheProtocol.Store(key, ReadEntry(r)),
            FillAbandonedManifest => new CacheProtocol.FillAbandoned(key, r.ReadBoolean(), r.ReadInt64()),
            InvalidateManifest => new CacheProtocol.Invalidate(key),
            InvalidatedManifest => new CacheProtocol.Invalidated(key),
            ProbeManifest => new CacheProtocol.Probe(key),
            ProbedManifest => new CacheProtocol.Probed(key, r.ReadString()),
            _ => throw new System.Runtime.Serialization.SerializationException($"unknown turbocache manifest '{manifest}'"),
        };
    });

    private static void WriteHeader(BinaryWriter w, HeaderField header)
    {
        w.Write(header.Name);
        w.WriteArray(header.Values, (ww, v) => ww.Write(v));
    }

    private static HeaderField ReadHeader(BinaryReader r) => new(r.ReadString(), r.ReadArray(rr => rr.ReadString()));

    private static VariantData ReadVariant(BinaryReader r)
    {
        var variant = new VariantData(r.ReadArray(rr => rr.ReadString()), r.ReadArray(rr => rr.ReadNullableString()),
            r.ReadNullableString(), r.ReadNullableString());
        // Most entries have no Vary: share one instance rather than keep one per entry.
        return variant is { HeaderNames.Length: 0, HeaderValues.Length: 0, CookieName: null, CookieValue: null } ? VariantData.None : variant;
    }

    private static void WriteEntry(BinaryWriter w, CacheEntryData e)
    {
        w.Write(e.StatusCode);
        w.WriteBytes(e.Headers);
        w.WriteBytes(e.Body);
        w.WriteArray(e.Variant.HeaderNames, (ww, v) => ww.Write(v));
        w.WriteArray(e.Variant.HeaderValues, (ww, v) => ww.WriteNullableString(v));
        w.WriteNullableString(e.Variant.CookieName);
        w.WriteNullableString(e.Variant.CookieValue);
        w.WriteTime(e.RequestTime);
        w.WriteTime(e.ResponseTime);
        w.WriteTime(e.Date);
        w.Write(e.AgeValue.Ticks);
        w.Write(e.FreshnessLifetime.Ticks);
        w.Write(e.StaleWhileRevalidate.Ticks);
        w.Write(e.StaleIfError.Ticks);
        w.Write(e.Flags);
    }

    private static CacheEntryData ReadEntry(BinaryReader r) => new(
        r.ReadInt32(),
        r.ReadBytes(),
        r.ReadBytes(),
        ReadVariant(r),
        r.ReadTime(),
        r.ReadTime(),
        r.ReadTime(),
        TimeSpan.FromTicks(r.ReadInt64()),
        TimeSpan.FromTicks(r.ReadInt64()),
        TimeSpan.FromTicks(r.ReadInt64()),
        TimeSpan.FromTicks(r.ReadInt64()),
        r.ReadByte());
}
