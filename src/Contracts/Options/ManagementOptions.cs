namespace Porter.Contracts.Options;

/// <summary>The management listener: served on the node's own address (<see cref="PorterOptions.Hostname"/>) unless <see cref="Address"/> says otherwise, never on the public port.</summary>
public sealed class ManagementOptions
{
    /// <summary>Port of the management API (Akka Management's default); 0 lets the OS choose, -1 turns it off.</summary>
    public int Port { get; set; } = 8558;

    /// <summary>
    /// Address the management listener binds; null means the node's own address. <c>*</c> takes every address of the
    /// host, which is what <c>kubectl port-forward</c> needs (it connects to 127.0.0.1 inside the pod).
    /// </summary>
    public string? Address { get; set; }

    /// <summary>Bearer token that mutating routes require; without one they are disabled (403).</summary>
    public string? Token { get; set; }
}
