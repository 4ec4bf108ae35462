from django.db import migrations

# code, name, assisted
CHANNELS = [
    ("web", "Formulario web", False),
    ("email", "Correo electrónico", False),
    ("phone", "Teléfono", True),
    ("in_person", "Presencial (oficina)", True),
    ("paper", "Formulario en papel", True),
    ("whatsapp", "WhatsApp", False),
    ("sms", "SMS", False),
    ("social", "Redes sociales", False),
    ("chatbot", "Asistente virtual (bot)", False),
    ("ivr", "Respuesta de voz interactiva (IVR)", False),
    ("api", "API / sistemas externos", False),
    ("kiosk", "Tótem de autoatención", False),
    ("video", "Videoatención", True),
]


def load(apps, schema_editor):
    Channel = apps.get_model("catalog", "Channel")
    for position, (code, name, assisted) in enumerate(CHANNELS):
        Channel.objects.update_or_create(
            code=code, defaults={"name": name, "is_assisted": assisted, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
