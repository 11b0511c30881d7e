"""playbook pages."""
