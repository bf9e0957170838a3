return await Porter.Gateway.Cli.PorterCli.RunAsync(args);
