using Microsoft.Extensions.Primitives;

namespace Porter.CacheShard.Policy;

/// <summary>The Cache-Control directives the turbocache understands, parsed from all field lines without allocating.</summary>
/// <remarks>
/// Robustness rules (RFC 9111 §1.2.2, §4.2.1, §5.2): directive names are case-insensitive; arguments may be tokens or
/// quoted strings; an absent, negative or unparsable delta-seconds counts as 0 (stale); values past 2^31 clamp to 2^31;
/// a repeated directive keeps its most restrictive (smallest) value. Qualified <c>no-cache="f"</c> and
/// <c>private="f"</c> are treated as their unqualified forms, which is the conservative reading.
/// </remarks>
public readonly struct CacheControl
{
    /// <summary>RFC 9111 §1.2.2: the value used for any delta-seconds too large to represent.</summary>
    public const long MaxDeltaSeconds = 2147483648;

    public bool NoStore { get; private init; }
    public bool NoCache { get; private init; }
    public bool Private { get; private init; }
    public bool Public { get; private init; }
    public bool MustRevalidate { get; private init; }
    public bool ProxyRevalidate { get; private init; }
    public bool OnlyIfCached { get; private init; }
    public long? MaxAge { get; private init; }
    public long? SMaxAge { get; private init; }
    public long? MinFresh { get; private init; }
    public long? StaleWhileRevalidate { get; private init; }
    public long? StaleIfError { get; private init; }

    /// <summary>True when any Cache-Control field line was present.</summary>
    public bool IsPresent { get; private init; }

    public static CacheControl Parse(StringValues values)
    {
        var parsed = new Builder();
        foreach (string? line in values)
        {
            if (line is null)
                continue;
            parsed.Present = true;
            ParseLine(line.AsSpan(), ref parsed);
        }
        return new CacheControl
        {
            IsPresent = parsed.Present,
            NoStore = parsed.NoStore,
            NoCache = parsed.NoCache,
            Private = parsed.Private,
            Public = parsed.Public,
            MustRevalidate = parsed.MustRevalidate,
            ProxyRevalidate = parsed.ProxyRevalidate,
            OnlyIfCached = parsed.OnlyIfCached,
            MaxAge = parsed.MaxAge,
            SMaxAge = parsed.SMaxAge,
            MinFresh = parsed.MinFresh,
            StaleWhileRevalidate = parsed.StaleWhileRevalidate,
            StaleIfError = parsed.StaleIfError,
        };
    }

    private static void ParseLine(ReadOnlySpan<char> s, ref Builder parsed)
    {
        int i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && (s[i] == ',' || HeaderRules.IsSpace(s[i])))
                i++;
            int nameStart = i;
            while (i < s.Length && s[i] != '=' && s[i] != ',' && !HeaderRules.IsSpace(s[i]))
                i++;
            ReadOnlySpan<char> name = s[nameStart..i];
            while (i < s.Length && HeaderRules.IsSpace(s[i]))
                i++;

            bool hasArgument = false;
            ReadOnlySpan<char> argument = default;
            if (i < s.Length && s[i] == '=')
            {
                hasArgument = true;
                i++;
                while (i < s.Length && HeaderRules.IsSpace(s[i]))
                    i++;
                if (i < s.Length && s[i] == '"')
                {
                    int start = ++i;
                    while (i < s.Length && s[i] != '"')
                        i += s[i] == '\\' ? 2 : 1; // quoted-pair: the escaped char cannot close the string
                    argument = s[start..Math.Min(i, s.Length)];
                    i++;
                }
                else
                {
                    int start = i;
                    while (i < s.Length && s[i] != ',')
                        i++;
                    argument = s[start..i].TrimEnd(" \t");
                }
            }
            // Whatever follows a malformed directive up to the next comma is ignored.
            while (i < s.Length && s[i] != ',')
                i++;

            if (!name.IsEmpty)
                parsed.Apply(name, hasArgument, argument);
        }
    }

    /// <summary>delta-seconds: digits only; anything else is invalid and counts as 0, overflow clamps to 2^31.</summary>
    internal static long ParseDeltaSeconds(bool hasArgument, ReadOnlySpan<char> argument)
    {
        if (!hasArgument || argument.IsEmpty)
            return 0;
        long value = 0;
        foreach (char c in argument)
        {
            if (c is < '0' or > '9')
                return 0;
            value = value * 10 + (c - '0');
            if (value >= MaxDeltaSeconds)
                value = MaxDeltaSeconds; // keep scanning so a trailing non-digit still makes it invalid
        }
        return value;
    }

    private struct Builder
    {
        public bool Present, NoStore, NoCache, Private, Public, MustRevalidate, ProxyRevalidate, OnlyIfCached;
        public long? MaxAge, SMaxAge, MinFresh, StaleWhileRevalidate, StaleIfError;

        public void Apply(ReadOnlySpan<char> name, bool hasArgument, ReadOnlySpan<char> argument)
        {
            if (Is(name, "max-age")) MaxAge = Smallest(MaxAge, ParseDeltaSeconds(hasArgument, argument));
            else if (Is(name, "s-maxage")) SMaxAge = Smallest(SMaxAge, ParseDeltaSeconds(hasArgument, argument));
            else if (Is(name, "no-store")) NoStore = true;
            else if (Is(name, "no-cache")) NoCache = true;
            else if (Is(name, "private")) Private = true;
            else if (Is(name, "public")) Public = true;
            else if (Is(name, "must-revalidate")) MustRevalidate = true;
            else if (Is(name, "proxy-revalidate")) ProxyRevalidate = true;
            else if (Is(name, "only-if-cached")) OnlyIfCached = true;
            else if (Is(name, "min-fresh")) MinFresh = Largest(MinFresh, ParseDeltaSeconds(hasArgument, argument));
            else if (Is(name, "stale-while-revalidate")) StaleWhileRevalidate = Smallest(StaleWhileRevalidate, ParseDeltaSeconds(hasArgument, argument));
            else if (Is(name, "stale-if-error")) StaleIfError = Smallest(StaleIfError, ParseDeltaSeconds(hasArgument, argument));
        }

        private static bool Is(ReadOnlySpan<char> name, string directive) =>
            name.Equals(directive, StringComparison.OrdinalIgnoreCase);

        private static long Smallest(long? current, long value) => current is { } c ? Math.Min(c, value) : value;

        // min-fresh only ever narrows what may be served, so the larger of repeated values is the restrictive one.
        private static long Largest(long? current, long value) => current is { } c ? Math.Max(c, value) : value;
    }
}
