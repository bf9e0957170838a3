System.Console.WriteLine("porter");
