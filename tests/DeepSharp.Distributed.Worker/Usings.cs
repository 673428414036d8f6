global using DeepSharp;
