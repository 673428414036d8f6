using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace DeepSharp.NN;

/// <summary>
/// Base class of every layer and model (torch.nn.Module). A module owns parameters, buffers and child modules,
/// each under a name; dotted paths of these names are the state-dict keys ("features.0.weight").
/// <para>
/// Members are found two ways. Fields (and auto-properties) of a subclass whose type is a <see cref="Module"/> or a
/// <see cref="Tensor"/> are discovered by reflection in declaration order, base classes first, so
/// <c>readonly Linear fc1 = new(784, 128);</c> registers the child "fc1". A Tensor member is a parameter when it was made
/// by <see cref="Parameter"/> (or is a leaf that requires grad), a buffer when marked <see cref="BufferAttribute"/>,
/// and otherwise a plain attribute that is not registered (as in PyTorch). <see cref="TorchNameAttribute"/> renames a
/// member, <see cref="NotRegisteredAttribute"/> hides it. Second, <see cref="RegisterParameter"/>, <see cref="RegisterBuffer"/>
/// and <see cref="RegisterModule"/> add members by name at run time (containers use them); an explicit registration under
/// the name of a field assigns that field and takes precedence over what discovery decided.
/// </para>
/// <para>
/// This class has no forward: a module's signature comes from its typed base, <see cref="Module{TInput, TOutput}"/>
/// (most layers and models: <c>sealed class Net : Module&lt;Tensor, Tensor&gt;</c>), <see cref="Module{T1, T2, TOutput}"/> or
/// <see cref="Module{T1, T2, T3, TOutput}"/>, whose <c>Call</c> runs the hooks registered here (Module.Hooks.cs).
/// Containers without a forward (<see cref="ModuleList"/>, <see cref="ModuleDict"/>) derive from this class directly.
/// </para>
/// <para>
/// Values of field members are always read from the field, so reassigning a (non-readonly) field is seen by
/// <see cref="Parameters"/>, <see cref="StateDict"/> and the rest.
/// </para>
/// <para>
/// Trimming and Native AOT: the attribute below makes the trimmer keep the fields and properties (with their attributes)
/// (and public methods) of every class derived from Module, so discovery finds the same members in a trimmed or AOT-compiled program.
/// </para>
/// </summary>
[DynamicallyAccessedMembers(DiscoveredMembers)]
public abstract partial class Module
{
    const DynamicallyAccessedMemberTypes DiscoveredMembers = DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.NonPublicFields
        | DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.NonPublicProperties
        | DynamicallyAccessedMemberTypes.PublicMethods;   // the ONNX exporter asks which class declares Forward

    enum SlotKind { Parameter, Buffer, Module, AutoTensor }

    /// <summary>One named member: bound to a field (value read live) or held directly.</summary>
    sealed class Slot
    {
        public required string Name;
        public required SlotKind Kind;
        public FieldInfo? Field;
        public bool Persistent = true;
        public object? Value;

        public Slot Clone() => (Slot)MemberwiseClone();
        public object? Get(Module owner) => Field != null ? Field.GetValue(owner) : Value;
    }

    static readonly ConcurrentDictionary<Type, Slot[]> layouts = new();
    static readonly ConditionalWeakTable<Tensor, object> parameterMarks = new();
    static readonly object parameterMark = new();

    List<Slot>? slots;

    /// <summary>Whether the module is in training mode (torch.nn.Module.training). Set by <see cref="Train"/>/<see cref="Eval"/>.</summary>
    public bool IsTraining { get; private set; } = true;

    // ---- parameters ---------------------------------------------------------------------------------------

    /// <summary>
    /// Makes <paramref name="data"/> a parameter (torch.nn.Parameter(data, requires_grad)): a leaf tensor marked so that
    /// a module registers it as a parameter even while frozen. A non-leaf is detached first. Returns the parameter.
    /// </summary>
    public static Tensor Parameter(Tensor data, bool requiresGrad = true)
    {
        ArgumentNullException.ThrowIfNull(data);
        var p = data.IsLeaf ? data : data.Detach();
        if (requiresGrad && !p.IsFloatingPoint)
            throw new ArgumentException($"Parameter: only floating point tensors can require gradients, got {p.DType.TorchName()}", nameof(data));
        p.RequiresGrad = requiresGrad;
        parameterMarks.AddOrUpdate(p, parameterMark);
        return p;
    }

    /// <summary>True when <paramref name="tensor"/> was made by <see cref="Parameter"/> (isinstance(t, nn.Parameter)).</summary>
    public static bool IsParameter(Tensor tensor) => parameterMarks.TryGetValue(tensor, out _);

    // ---- layout ---------------------------------------------------------------------------------------------

    int membersVersion;

    /// <summary>
    /// Changes whenever an own parameter, buffer, tensor attribute or child is registered, replaced or removed through the
    /// module's methods, so a layer can cache a view of its own members (RNNBase's flat weights) and rebuild it on change.
    /// </summary>
    internal int MembersVersion => membersVersion;

    List<Slot> Slots => slots ??= layouts.GetOrAdd(GetType(), Discover).Select(s => s.Clone()).ToList();

    /// <summary>Fields of Module or Tensor type, per class from the base down, in declaration (metadata) order.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Every type walked derives from Module, whose [DynamicallyAccessedMembers] keeps their fields and properties")]
    static Slot[] Discover(Type type)
    {
        var chain = new List<Type>();
        for (var t = type; t != null && t != typeof(Module); t = t.BaseType) chain.Add(t);
        chain.Reverse();
        var result = new List<Slot>();
        foreach (var t in chain)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                bool isModule = typeof(Module).IsAssignableFrom(field.FieldType);
                bool isTensor = field.FieldType == typeof(Tensor);
                if (!isModule && !isTensor) continue;
                var (name, member) = MemberName(field, t);
                if (member.IsDefined(typeof(NotRegisteredAttribute), true)) continue;
                if (member.GetCustomAttribute<TorchNameAttribute>(true) is { } rename) name = rename.Name;
                var buffer = member.GetCustomAttribute<BufferAttribute>(true);
                if (buffer != null && !isTensor)
                    throw new InvalidOperationException($"{t.Name}.{field.Name}: [Buffer] applies only to Tensor members");
                var kind = isModule ? SlotKind.Module : buffer != null ? SlotKind.Buffer : SlotKind.AutoTensor;
                var existing = result.FindIndex(s => s.Name == name);
                var slot = new Slot { Name = name, Kind = kind, Field = field, Persistent = buffer?.Persistent ?? true };
                if (existing >= 0) result[existing] = slot;   // a derived class hides a base member of the same name
                else result.Add(slot);
            }
        }
        return result.ToArray();
    }

    /// <summary>The C# name of a field, with an auto-property's backing field "&lt;Name&gt;k__BackingField" mapped to "Name".</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "declaring derives from Module, whose [DynamicallyAccessedMembers] keeps its properties")]
    static (string Name, MemberInfo Member) MemberName(FieldInfo field, Type declaring)
    {
        var n = field.Name;
        if (n.StartsWith('<') && n.EndsWith(">k__BackingField", StringComparison.Ordinal))
        {
            var propertyName = n[1..n.IndexOf('>')];
            var property = declaring.GetProperty(propertyName, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly);
            return (propertyName, (MemberInfo?)property ?? field);
        }
        return (n, field);
    }

    Slot? FindSlot(string name)
    {
        foreach (var s in Slots) if (s.Name == name) return s;
        return null;
    }

    void Register(string name, SlotKind kind, object? value, bool persistent, string op)
    {
        membersVersion++;
        if (string.IsNullOrEmpty(name)) throw new ArgumentException($"{op}: the name must not be empty", nameof(name));
        if (name.Contains('.')) throw new ArgumentException($"{op}: the name \"{name}\" must not contain \".\"", nameof(name));
        var slot = FindSlot(name);
        if (slot == null) { Slots.Add(new Slot { Name = name, Kind = kind, Value = value, Persistent = persistent }); return; }
        bool tensorKinds = kind != SlotKind.Module && slot.Kind != SlotKind.Module;
        if (slot.Kind != kind && !tensorKinds)
            throw new ArgumentException($"{op}: \"{name}\" is already registered as a {KindName(slot.Kind)} of {GetType().Name}", nameof(name));
        if (slot.Field != null)
        {
            if (value != null && !slot.Field.FieldType.IsInstanceOfType(value))
                throw new ArgumentException($"{op}: field \"{name}\" of {GetType().Name} has type {slot.Field.FieldType.Name} and cannot hold a {value.GetType().Name}", nameof(name));
            slot.Field.SetValue(this, value);
        }
        else slot.Value = value;
        slot.Kind = kind;
        slot.Persistent = persistent;
    }

    static string KindName(SlotKind k) => k switch { SlotKind.Module => "module", SlotKind.Buffer => "buffer", _ => "parameter" };

    /// <summary>
    /// Adds (or replaces) a parameter under <paramref name="name"/> (torch.nn.Module.register_parameter). Null registers
    /// an absent parameter (e.g. a disabled bias). The tensor must be a leaf; unless it already is a <see cref="Parameter"/>
    /// it is marked as one and made to require grad. Returns the tensor.
    /// </summary>
    public Tensor? RegisterParameter(string name, Tensor? parameter)
    {
        if (parameter != null)
        {
            if (!parameter.IsLeaf) throw new ArgumentException($"RegisterParameter: \"{name}\" must be a leaf tensor (it was produced by {parameter.GradFn?.Name}); pass Detach() of it", nameof(parameter));
            if (!IsParameter(parameter)) Parameter(parameter, parameter.IsFloatingPoint);
        }
        Register(name, SlotKind.Parameter, parameter, true, "RegisterParameter");
        return parameter;
    }

    /// <summary>
    /// Adds (or replaces) a buffer (torch.nn.Module.register_buffer): state such as running statistics that is not a
    /// parameter. Non-persistent buffers are left out of <see cref="StateDict"/>. Returns the tensor.
    /// </summary>
    public Tensor? RegisterBuffer(string name, Tensor? buffer, bool persistent = true)
    {
        Register(name, SlotKind.Buffer, buffer, persistent, "RegisterBuffer");
        return buffer;
    }

    /// <summary>Adds (or replaces) a child module (torch.nn.Module.register_module / add_module). Returns the module.</summary>
    public T? RegisterModule<T>(string name, T? module) where T : Module
    {
        Register(name, SlotKind.Module, module, true, "RegisterModule");
        return module;
    }

    // ---- own members ------------------------------------------------------------------------------------------

    IEnumerable<(string Name, Tensor Tensor)> OwnParameters()
    {
        foreach (var s in Slots)
        {
            if (s.Kind is not (SlotKind.Parameter or SlotKind.AutoTensor)) continue;
            if (s.Get(this) is not Tensor t) continue;
            if (s.Kind == SlotKind.AutoTensor && !IsParameter(t))
            {
                if (!(t.RequiresGrad && t.IsLeaf)) continue;           // a plain tensor attribute
                parameterMarks.AddOrUpdate(t, parameterMark);          // stays a parameter once frozen
            }
            yield return (s.Name, t);
        }
    }

    IEnumerable<(string Name, Tensor Tensor, bool Persistent)> OwnBuffers()
    {
        foreach (var s in Slots)
            if (s.Kind == SlotKind.Buffer && s.Get(this) is Tensor t) yield return (s.Name, t, s.Persistent);
    }

    IEnumerable<(string Name, Module Module)> OwnModules()
    {
        foreach (var s in Slots)
            if (s.Kind == SlotKind.Module && s.Get(this) is Module m) yield return (s.Name, m);
    }

    /// <summary>Replaces the value of an own parameter or buffer (writing the field it is bound to).</summary>
    void SetMember(string name, Tensor value)
    {
        var slot = FindSlot(name) ?? throw new InvalidOperationException($"internal: no member {name}");
        membersVersion++;
        if (slot.Field != null) slot.Field.SetValue(this, value); else slot.Value = value;
    }

    // ---- traversal --------------------------------------------------------------------------------------------

    /// <summary>Direct children, skipping repeats of the same module (torch.nn.Module.children).</summary>
    public IEnumerable<Module> Children() => NamedChildren().Select(c => c.Module);

    /// <summary>Direct children with their names (torch.nn.Module.named_children).</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren()
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        foreach (var (name, m) in OwnModules())
            if (seen.Add(m)) yield return (name, m);
    }

    /// <summary>This module and all its descendants, each once, in pre-order (torch.nn.Module.modules).</summary>
    public IEnumerable<Module> Modules() => NamedModules().Select(m => m.Module);

    /// <summary>
    /// This module (named <paramref name="prefix"/>, "" by default) and all descendants with dotted names, each module
    /// once (torch.nn.Module.named_modules).
    /// </summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        var result = new List<(string, Module)>();
        void Walk(Module m, string path)
        {
            if (!seen.Add(m)) return;
            result.Add((path, m));
            foreach (var (name, child) in m.OwnModules()) Walk(child, Join(path, name));
        }
        Walk(this, prefix);
        return result;
    }

    static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>Parameters of this module and (with <paramref name="recurse"/>) its descendants, each once (torch.nn.Module.parameters).</summary>
    public IEnumerable<Tensor> Parameters(bool recurse = true) => NamedParameters(recurse: recurse).Select(p => p.Tensor);

    /// <summary>Parameters with dotted names such as "features.0.weight", each tensor once (torch.nn.Module.named_parameters).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedParameters(string prefix = "", bool recurse = true)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var result = new List<(string, Tensor)>();
        foreach (var (path, m) in recurse ? NamedModules(prefix) : [(prefix, this)])
            foreach (var (name, p) in m.OwnParameters())
                if (seen.Add(p)) result.Add((Join(path, name), p));
        return result;
    }

    /// <summary>Buffers of this module and (with <paramref name="recurse"/>) its descendants (torch.nn.Module.buffers).</summary>
    public IEnumerable<Tensor> Buffers(bool recurse = true) => NamedBuffers(recurse: recurse).Select(b => b.Tensor);

    /// <summary>Buffers with dotted names such as "bn1.running_mean" (torch.nn.Module.named_buffers).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedBuffers(string prefix = "", bool recurse = true)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var result = new List<(string, Tensor)>();
        foreach (var (path, m) in recurse ? NamedModules(prefix) : [(prefix, this)])
            foreach (var (name, b, _) in m.OwnBuffers())
                if (seen.Add(b)) result.Add((Join(path, name), b));
        return result;
    }

    /// <summary>The descendant at a dotted path such as "layer1.0" ("" is this module) (torch.nn.Module.get_submodule).</summary>
    public Module GetSubmodule(string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        Module m = this;
        if (target.Length == 0) return m;
        foreach (var part in target.Split('.'))
        {
            var next = m.OwnModules().FirstOrDefault(c => c.Name == part).Module;
            m = next ?? throw new ArgumentException($"GetSubmodule: {m.GetType().Name} has no submodule \"{part}\" (looking up \"{target}\")", nameof(target));
        }
        return m;
    }

    /// <summary>The parameter at a dotted path such as "fc.weight" (torch.nn.Module.get_parameter).</summary>
    public Tensor GetParameter(string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        int dot = target.LastIndexOf('.');
        var owner = GetSubmodule(dot < 0 ? "" : target[..dot]);
        var name = target[(dot + 1)..];
        foreach (var (n, p) in owner.OwnParameters()) if (n == name) return p;
        throw new ArgumentException($"GetParameter: {owner.GetType().Name} has no parameter \"{name}\" (looking up \"{target}\")", nameof(target));
    }

    // ---- modes and bulk operations -----------------------------------------------------------------------------

    /// <summary>Sets training mode on this module and all descendants (torch.nn.Module.train). Returns this module.</summary>
    public Module Train(bool mode = true)
    {
        foreach (var m in Modules()) m.IsTraining = mode;
        return this;
    }

    /// <summary>Sets evaluation mode: <c>Train(false)</c> (torch.nn.Module.eval). Returns this module.</summary>
    public Module Eval() => Train(false);

    /// <summary>Applies <paramref name="fn"/> to every descendant and then to this module, children first (torch.nn.Module.apply).</summary>
    public Module Apply(Action<Module> fn)
    {
        ArgumentNullException.ThrowIfNull(fn);
        foreach (var child in Children()) child.Apply(fn);
        fn(this);
        return this;
    }

    /// <summary>
    /// Sets whether autograd records operations on every parameter (torch.nn.Module.requires_grad_); <c>RequiresGrad(false)</c>
    /// freezes the module. Frozen parameters stay parameters. Returns this module.
    /// </summary>
    public Module RequiresGrad(bool requiresGrad = true)
    {
        foreach (var p in Parameters()) p.RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>
    /// Clears the gradients of every parameter (torch.nn.Module.zero_grad): sets them to null by default, or
    /// zeroes them in place when <paramref name="setToNone"/> is false.
    /// </summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in Parameters())
        {
            if (p.Grad == null) continue;
            if (setToNone) p.Grad = null;
            else if (p.Grad.RequiresGrad) p.Grad = TensorScope.Suspend(() => Tensor.ZerosLike(p.Grad));   // a createGraph gradient
            else using (Autograd.NoGrad()) p.Grad.ZeroInPlace();
        }
    }

    /// <summary>Number of parameter elements, counting shared parameters once; only trainable ones when asked (sum(p.numel() for p in model.parameters())).</summary>
    public long ParameterCount(bool trainableOnly = false)
    {
        long n = 0;
        foreach (var p in Parameters()) if (!trainableOnly || p.RequiresGrad) n += p.NumEl;
        return n;
    }
}
