namespace Porter.Contracts.Ids;

/// <summary>The name of an application served by Porter; unique within a cluster.</summary>
public readonly record struct AppName(string Value)
{
    public override string ToString() => Value;
}
