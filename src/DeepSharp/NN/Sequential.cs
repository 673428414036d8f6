using System.Collections;

namespace DeepSharp.NN;

/// <summary>
/// A chain of modules applied in order (torch.nn.Sequential). Children are named "0", "1", ... (or by the names given),
/// so state-dict keys read "0.weight", "2.bias" as in PyTorch:
/// <code>var model = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));</code>
/// Collection initializers work too: <c>new Sequential { new Linear(4, 8), new ReLU() }</c>. Its children are
/// one-input, one-output modules (<see cref="Module{TInput, TOutput}"/> of tensors), each called through its <c>Call</c>.
/// </summary>
public class Sequential : Module<Tensor, Tensor>, IEnumerable<Module<Tensor, Tensor>>
{
    readonly List<Module<Tensor, Tensor>> layers = [];
    readonly List<string> names = [];

    /// <summary>Builds an empty chain; add modules with <see cref="Add(Module{Tensor, Tensor})"/> or a collection initializer.</summary>
    public Sequential() { }

    /// <summary>Builds a chain from <paramref name="modules"/>, named "0", "1", ... (torch.nn.Sequential(*modules)).</summary>
    public Sequential(params Module<Tensor, Tensor>[] modules)
    {
        foreach (var m in modules) Add(m);
    }

    /// <summary>Builds a chain of named modules (torch.nn.Sequential(OrderedDict(...))).</summary>
    public Sequential(params (string Name, Module<Tensor, Tensor> Module)[] modules)
    {
        foreach (var (name, m) in modules) Add(name, m);
    }

    /// <summary>Appends a module named by its position (torch.nn.Sequential.append). Returns this.</summary>
    public Sequential Add(Module<Tensor, Tensor> module) => Add(layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);

    /// <summary>Appends a module under <paramref name="name"/> (torch.nn.Module.add_module). Returns this.</summary>
    public Sequential Add(string name, Module<Tensor, Tensor> module)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (names.Contains(name))
            throw new ArgumentException($"Sequential.Add: a module named \"{name}\" is already in the sequence", nameof(name));
        RegisterModule(name, module);
        names.Add(name);
        layers.Add(module);
        return this;
    }

    /// <summary>
    /// Gets the module at <paramref name="index"/> (negative counts from the end), or replaces it in place, keeping its name
    /// and position (sequential[i], sequential[i] = module).
    /// </summary>
    public Module<Tensor, Tensor> this[int index]
    {
        get => layers[Position(index)];
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            int i = Position(index);
            RegisterModule(names[i], value);
            layers[i] = value;
        }
    }

    /// <summary>Gets or replaces the module named <paramref name="name"/> (getattr(sequential, name), setattr for an existing name).</summary>
    public Module<Tensor, Tensor> this[string name]
    {
        get => this[IndexOf(name)];
        set => this[IndexOf(name)] = value;
    }

    /// <summary>The names of the modules, in order ("0", "1", ... unless given).</summary>
    public IReadOnlyList<string> Names => names;

    int IndexOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        int i = names.IndexOf(name);
        return i >= 0 ? i : throw new KeyNotFoundException($"Sequential: no module named \"{name}\" (names: {string.Join(", ", names)})");
    }

    int Position(int index)
    {
        int i = index < 0 ? index + layers.Count : index;
        if ((uint)i >= (uint)layers.Count) throw new ArgumentOutOfRangeException(nameof(index), $"Sequential: index {index} is out of range for {layers.Count} modules");
        return i;
    }

    /// <summary>Number of modules (len(sequential)).</summary>
    public int Count => layers.Count;

    /// <summary>Feeds the input through every module in turn, through its <c>Call</c> so hooks run (torch.nn.Sequential.forward).</summary>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var m in layers) x = m.Call(x);
        return x;
    }

    /// <inheritdoc/>
    public IEnumerator<Module<Tensor, Tensor>> GetEnumerator() => layers.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// A list of modules whose parameters are registered, named "0", "1", ... (torch.nn.ModuleList). Like PyTorch's, it
/// has no forward (it is a plain <see cref="Module"/>): index it or loop over it inside a parent's Forward.
/// </summary>
public class ModuleList : Module, IReadOnlyList<Module>
{
    readonly List<Module> items = [];

    /// <summary>Creates an empty list.</summary>
    public ModuleList() { }

    /// <summary>Creates the list from <paramref name="modules"/> (torch.nn.ModuleList(modules)).</summary>
    public ModuleList(params Module[] modules) { foreach (var m in modules) Add(m); }

    /// <summary>Creates the list from a sequence of modules.</summary>
    public ModuleList(IEnumerable<Module> modules) { foreach (var m in modules) Add(m); }

    /// <summary>Appends a module (torch.nn.ModuleList.append).</summary>
    public void Add(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        RegisterModule(items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        items.Add(module);
    }

    /// <summary>The module at <paramref name="index"/>; negative counts from the end.</summary>
    public Module this[int index]
    {
        get
        {
            int i = index < 0 ? index + items.Count : index;
            if ((uint)i >= (uint)items.Count) throw new ArgumentOutOfRangeException(nameof(index), $"ModuleList: index {index} is out of range for {items.Count} modules");
            return items[i];
        }
    }

    /// <summary>Number of modules (len(module_list)).</summary>
    public int Count => items.Count;

    /// <inheritdoc/>
    public IEnumerator<Module> GetEnumerator() => items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// A dictionary of named modules whose parameters are registered under those names, in insertion order
/// (torch.nn.ModuleDict). Like PyTorch's, it has no forward (it is a plain <see cref="Module"/>).
/// </summary>
public class ModuleDict : Module, IEnumerable<KeyValuePair<string, Module>>
{
    readonly List<string> keys = [];
    readonly Dictionary<string, Module> items = [];

    /// <summary>Creates an empty dictionary; fill it with <see cref="Add"/> or a collection initializer.</summary>
    public ModuleDict() { }

    /// <summary>Creates the dictionary from (name, module) pairs (torch.nn.ModuleDict(dict)).</summary>
    public ModuleDict(params (string Name, Module Module)[] modules) { foreach (var (n, m) in modules) Add(n, m); }

    /// <summary>Adds or replaces a module under <paramref name="key"/> (module_dict[key] = module).</summary>
    public void Add(string key, Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        RegisterModule(key, module);
        if (!items.ContainsKey(key)) keys.Add(key);
        items[key] = module;
    }

    /// <summary>Gets or sets the module under <paramref name="key"/> (module_dict[key]).</summary>
    public Module this[string key]
    {
        get => items.TryGetValue(key, out var m) ? m : throw new KeyNotFoundException($"ModuleDict: no module named \"{key}\" (keys: {string.Join(", ", keys)})");
        set => Add(key, value);
    }

    /// <summary>True when a module is stored under <paramref name="key"/> (key in module_dict).</summary>
    public bool ContainsKey(string key) => items.ContainsKey(key);

    /// <summary>The keys in insertion order (module_dict.keys()).</summary>
    public IReadOnlyList<string> Keys => keys;

    /// <summary>The modules in insertion order (module_dict.values()).</summary>
    public IEnumerable<Module> Values => keys.Select(k => items[k]);

    /// <summary>Number of modules (len(module_dict)).</summary>
    public int Count => keys.Count;

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, Module>> GetEnumerator() => keys.Select(k => new KeyValuePair<string, Module>(k, items[k])).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
