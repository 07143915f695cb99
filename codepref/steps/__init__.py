"""Step-level preference pairs verified by execution (issue 27): Step-DPO's first wrong step and MCTS-DPO's
tree search, for code.

`split` cuts a completion into steps, `values` estimates a prefix's value from executed rollouts (cached),
`step_dpo` and `mcts` are the two pair policies, `pair` the `StepPair` record (TRL preference rows) and the
instance:step mixing, `source` runs a method over problems, `cli` is `codepref steps`.
"""
