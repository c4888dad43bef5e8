from eflows_kernel.model.decorators import constraint

Constraint = constraint
