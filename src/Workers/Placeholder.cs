namespace Porter.Workers;
internal static class Placeholder { }
