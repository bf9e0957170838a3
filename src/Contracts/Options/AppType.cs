namespace Porter.Contracts.Options;

/// <summary>How an application is started; detected from the app root when not given.</summary>
public enum AppType
{
    /// <summary>Not given: detect from the files in the app root.</summary>
    Auto = 0,
    Node,
    Python,
    Dotnet,
    Command,
}
