using System.Globalization;

namespace DeepSharp.Optim;

public abstract partial class Optimizer
{
    /// <summary>
    /// The optimizer state in serialisable form (torch.optim.Optimizer.state_dict()); see <see cref="OptimizerState"/>
    /// for the key layout. Buffers are copied. This and <see cref="LoadStateDict"/> are the only places where group
    /// options appear under PyTorch's string keys ("param_groups.0.lr", "param_groups.0.beta1", booleans as 1 or 0).
    /// </summary>
    public OptimizerState StateDict() => TensorScope.Suspend(StateDictCore);

    OptimizerState StateDictCore()
    {
        var result = new OptimizerState();
        var values = new Dictionary<string, double>();
        int index = 0;
        for (int g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            values.Clear();
            group.Options.WriteStateDict(values);
            group.WriteScheduleValues(values);
            foreach (var (key, value) in values) result.Scalars[$"param_groups.{g}.{key}"] = value;
            result.Scalars[$"param_groups.{g}.num_params"] = group.ParamList.Count;
            foreach (var p in group.ParamList)
            {
                if (state.TryGetValue(p, out var s))
                {
                    result.Scalars[$"state.{index}.step"] = s.Step;
                    foreach (var (name, buffer) in s.Buffers) result.Tensors[$"state.{index}.{name}"] = Tensor.CopyToContiguous(buffer);
                }
                index++;
            }
        }
        return result;
    }

    /// <summary>
    /// Restores state from <see cref="StateDict"/> (torch.optim.Optimizer.load_state_dict): group hyperparameters
    /// replace the current ones (options a saved group lacks take the defaults), and buffers are copied and cast to
    /// each parameter's dtype. The optimizer must have the same number of groups with the same number of parameters,
    /// in the same order, as the one saved; a group option this optimizer does not have is an error.
    /// </summary>
    public void LoadStateDict(OptimizerState stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var groupValues = new Dictionary<int, Dictionary<string, double>>();
        var steps = new Dictionary<int, long>();
        foreach (var (key, value) in stateDict.Scalars)
        {
            var (section, index, name) = ParseKey(key);
            if (section == "param_groups")
            {
                if (!groupValues.TryGetValue(index, out var values)) groupValues[index] = values = new();
                values[name] = value;
            }
            else if (name == "step") steps[index] = (long)value;
            else throw new ArgumentException($"{Name}.LoadStateDict: unexpected scalar key '{key}'", nameof(stateDict));
        }
        if (groupValues.Count != groups.Count || groupValues.Keys.Any(k => k >= groups.Count))
            throw new ArgumentException($"{Name}.LoadStateDict: the loaded state dict has {groupValues.Count} parameter groups but the optimizer has {groups.Count}", nameof(stateDict));
        var allParams = Parameters().ToArray();
        var options = new OptimizerOptions[groups.Count];
        for (int g = 0; g < groups.Count; g++)
        {
            int saved = groupValues[g].TryGetValue("num_params", out var n) ? (int)n : -1;
            if (saved != groups[g].ParamList.Count)
                throw new ArgumentException($"{Name}.LoadStateDict: loaded parameter group {g} has {saved} parameters but the optimizer's group {g} has {groups[g].ParamList.Count}", nameof(stateDict));
            options[g] = ReadGroupOptions(groupValues[g], g);
        }
        var newState = ReadParamStates(stateDict, allParams, steps);
        for (int g = 0; g < groups.Count; g++)
        {
            groups[g].SetOptionsUnchecked(options[g]);
            groups[g].ReadScheduleValues(groupValues[g]);
        }
        state.Clear();
        foreach (var (index, s) in newState) state[allParams[index]] = s;
    }

    OptimizerOptions ReadGroupOptions(Dictionary<string, double> values, int g)
    {
        var options = Defaults.ReadStateDict(values);
        var known = new Dictionary<string, double>();
        options.WriteStateDict(known);
        foreach (var key in values.Keys)
            if (key != "num_params" && !known.ContainsKey(key) && !ParamGroup.IsScheduleKey(key))
                throw new ArgumentException($"{Name}.LoadStateDict: 'param_groups.{g}.{key}' is not an option of {Name} (its options: {string.Join(", ", known.Keys)}); was the state saved from another optimizer?", "stateDict");
        CheckGroupOptions(options, g);
        return options;
    }

    Dictionary<int, ParamState> ReadParamStates(OptimizerState stateDict, Tensor[] allParams, Dictionary<int, long> steps)
    {
        var newState = new Dictionary<int, ParamState>();
        foreach (var (key, tensor) in stateDict.Tensors)
        {
            var (section, index, name) = ParseKey(key);
            if (section != "state" || index >= allParams.Length)
                throw new ArgumentException($"{Name}.LoadStateDict: tensor key '{key}' does not name the state of one of the optimizer's {allParams.Length} parameters", nameof(stateDict));
            var p = allParams[index];
            if (!ShapeUtil.SameShape(tensor.shape, p.shape))
                throw new ArgumentException($"{Name}.LoadStateDict: state '{key}' has shape {ShapeUtil.Format(tensor.shape)} but parameter {index} has shape {ShapeUtil.Format(p.shape)}", nameof(stateDict));
            if (!newState.TryGetValue(index, out var s)) newState[index] = s = new ParamState();
            s.Buffers[name] = TensorScope.Suspend(() => Tensor.CopyToContiguous(tensor.DType == p.DType ? tensor : tensor.To(p.DType)));
        }
        foreach (var (index, step) in steps)
        {
            if (index >= allParams.Length)
                throw new ArgumentException($"{Name}.LoadStateDict: 'state.{index}.step' does not name one of the optimizer's {allParams.Length} parameters", nameof(stateDict));
            if (!newState.TryGetValue(index, out var s)) newState[index] = s = new ParamState();
            s.Step = step;
        }
        return newState;
    }

    (string Section, int Index, string Name) ParseKey(string key)
    {
        var parts = key.Split('.', 3);
        if (parts.Length == 3 && (parts[0] == "state" || parts[0] == "param_groups")
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            return (parts[0], index, parts[2]);
        throw new ArgumentException($"{Name}.LoadStateDict: key '{key}' is not of the form 'state.{{index}}.{{name}}' or 'param_groups.{{index}}.{{option}}'");
    }
}
