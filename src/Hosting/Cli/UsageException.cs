namespace Porter.Hosting.Cli;

/// <summary>A bad command line or configuration: printed as one line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
