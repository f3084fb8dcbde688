"""Clinical documentation: note types as data, ICD-10-CM code shapes, the ClinicalNote aggregate."""
