// Options classes expose typed ids (AppOptions.AppName); importing the ids namespace project-wide
// keeps every options file free of a using it would otherwise need.
global using Porter.Contracts.Ids;
