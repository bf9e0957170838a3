namespace Porter.Contracts.Ids;

/// <summary>The operating-system PID of an application process on one node.</summary>
public readonly record struct ProcessId(int Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
