package slots

// SetTestHook sets the function the supervisor calls with each decision
// once it is persisted, before it acts on it (the helper supervisor
// process of the kill tests kills itself there).
func SetTestHook(f func(point string)) { testHook = f }

// PointStartTrial is the decision to start a trial from Ready: the switch.
const PointStartTrial = pointStartTrial
