using Porter.CacheShard.Policy;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;
using static Porter.CacheShard.Tests.TestHttp;

namespace Porter.CacheShard.Tests.Sharding;

/// <summary>The memory cost of an entry, the unit of every turbocache memory bound and of the bytes /cache reports.</summary>
public sealed class EntryCostTests
{
    private static long StoreCost(CachedResponse entry)
    {
        var data = CacheEntryMapping.ToData(entry);
        return EntryCost.OfStoredVariant(data.Headers, data.Body, data.Variant);
    }

    [Fact]
    public void A_key_costs_its_characters_twice_and_a_fixed_overhead()
    {
        Assert.Equal(EntryCost.StoreKeyOverhead + 2 * 10, EntryCost.OfStoreKey("0123456789"));
        Assert.Equal(EntryCost.NearKeyOverhead + 2 * 10, EntryCost.OfNearKey("0123456789"));
    }

    [Fact]
    public void A_stored_variant_costs_its_header_block_its_body_and_a_fixed_overhead()
    {
        byte[] headers = new byte[300], body = new byte[2048];
        Assert.Equal(EntryCost.StoreVariantOverhead + 300 + 2048, EntryCost.OfStoredVariant(headers, body, VariantData.None));
    }

    [Fact]
    public void An_empty_body_with_large_headers_is_not_free()
    {
        // The shape: no body, 4 KB of headers. Counting bodies only, this was 0.
        var entry = Store(["Cache-Control: max-age=600", $"X-Padding: {new string('x', 4000)}"], body: "");
        Assert.InRange(StoreCost(entry), EntryCost.StoreVariantOverhead + 4000, EntryCost.StoreVariantOverhead + 4200);
        // Decoded for a near cache, the same characters are UTF-16 strings.
        Assert.InRange(EntryCost.OfNearVariant(entry), EntryCost.NearVariantOverhead + 8000, EntryCost.NearVariantOverhead + 8400);
    }

    [Fact]
    public void Each_header_byte_and_body_byte_adds_to_the_cost()
    {
        var small = Store(["Cache-Control: max-age=60", "X-A: 1"], body: "hello");
        var longerHeader = Store(["Cache-Control: max-age=60", "X-A: 12"], body: "hello");
        var longerBody = Store(["Cache-Control: max-age=60", "X-A: 1"], body: "hello!");
        Assert.Equal(StoreCost(small) + 1, StoreCost(longerHeader));
        Assert.Equal(StoreCost(small) + 1, StoreCost(longerBody));
        Assert.Equal(EntryCost.OfNearVariant(small) + 2, EntryCost.OfNearVariant(longerHeader));
        Assert.Equal(EntryCost.OfNearVariant(small) + 1, EntryCost.OfNearVariant(longerBody));
    }

    [Fact]
    public void A_variant_keyed_by_request_headers_costs_their_values_too()
    {
        string[] response = ["Cache-Control: max-age=60", "Vary: X-Long"];
        var plain = Store(["Cache-Control: max-age=60"]);
        var keyed = Store(response, [$"X-Long: {new string('v', 1000)}"]);
        Assert.True(StoreCost(keyed) > StoreCost(plain) + 2000, "the stored Vary value is a UTF-16 string");
        Assert.True(EntryCost.OfNearVariant(keyed) > EntryCost.OfNearVariant(plain) + 2000);
    }
}
