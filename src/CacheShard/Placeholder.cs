namespace Porter.CacheShard;
internal static class Placeholder { }
