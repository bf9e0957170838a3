namespace Porter.Contracts;
internal static class Placeholder { }
