"""Static material for ``seed_demo``: catalogs, schools, names and request texts.

Texts are written the way people write to an OIRS; placeholders: {org} (school),
{comuna}, {dia} (weekday), {nombre} (the student's first name).
"""

# --- JUNAEB ---------------------------------------------------------------------------------

JUNAEB = {
    "slug": "junaeb", "short_name": "JUNAEB", "folio_prefix": "JUN",
    "name": "Junta Nacional de Auxilio Escolar y Becas",
    "contact_email": "oirs@demo.ventanilla.cl",
}

# code, name, workflow, target hours, description
JUNAEB_TYPES = [
    ("reclamo", "Reclamo", "type2", 72, "Algo no funcionó como debía."),
    ("consulta", "Consulta", "type2", 72, "Preguntas sobre programas, becas y trámites."),
    ("ley-20285", "Solicitud de información Ley 20.285", "type2", 480,
     "Acceso a información pública (Ley de Transparencia)."),
    ("sugerencia", "Sugerencia", "type1", 72, "Ideas para mejorar nuestros servicios."),
    ("felicitacion", "Felicitación", "type1", 72, "Reconocer una buena atención."),
]
JUNAEB_REQUESTER_TYPES = ["Estudiante", "Apoderado", "Profesor", "Encargado", "Otro"]

AREA_OIRS = "Atención Ciudadana / OIRS"
AREA_PAE = "Programa de Alimentación Escolar"
AREA_CANASTAS = "Canastas y Logística"
AREA_BECAS = "Becas y Asistencialidad"
JUNAEB_AREAS = [AREA_OIRS, AREA_PAE, AREA_CANASTAS, AREA_BECAS]

# key, name, parent key, default area
JUNAEB_TOPICS = [
    ("pae", "Programa de Alimentación Escolar (PAE)", None, AREA_PAE),
    ("pae_kinder", "PAE Kinder-Prekinder", "pae", AREA_PAE),
    ("pae_basica", "PAE Básica-Media", "pae", AREA_PAE),
    ("pae_celiaco", "PAE Celiaco", "pae", AREA_PAE),
    ("pae_biometrico", "PAE Biométrico", "pae", AREA_PAE),
    ("canastas", "Canastas Junaeb", None, AREA_CANASTAS),
    ("becas", "Becas", None, AREA_BECAS),
    ("baes", "Beca BAES", "becas", AREA_BECAS),
    ("indigena", "Beca Indígena", "becas", AREA_BECAS),
    ("presidente", "Beca Presidente de la República", "becas", AREA_BECAS),
]

# School name, comuna name exactly as in core.Comuna (official spelling, e.g. "Los Angeles"),
# RBD-like code.
JUNAEB_SCHOOLS = [
    ("Escuela Básica República de Croacia", "Iquique", "101"),
    ("Liceo Bicentenario Alto Hospicio", "Alto Hospicio", "12668"),
    ("Escuela D-91 Humberto Valenzuela", "Arica", "10"),
    ("Liceo Técnico Profesional de Antofagasta", "Antofagasta", "12802"),
    ("Escuela Básica Chuquicamata", "Calama", "12910"),
    ("Liceo José Antonio Carvajal", "Copiapó", "409"),
    ("Escuela Gabriela Mistral", "La Serena", "530"),
    ("Liceo Bicentenario de Coquimbo", "Coquimbo", "612"),
    ("Escuela Básica Limarí", "Ovalle", "715"),
    ("Liceo Eduardo de la Barra", "Valparaíso", "1430"),
    ("Escuela República del Ecuador", "Viña del Mar", "1612"),
    ("Colegio Villa Alemana", "Villa Alemana", "1788"),
    ("Escuela Básica Llolleo", "San Antonio", "2034"),
    ("Liceo Maximiliano Salas Marchán", "Los Andes", "1205"),
    ("Escuela Santa Cruz de Triana", "Rancagua", "2125"),
    ("Liceo Neandro Schilling", "San Fernando", "2284"),
    ("Escuela Carlos Spano", "Talca", "2903"),
    ("Liceo Fernando Lazcano", "Curicó", "2719"),
    ("Escuela Básica Linares Oriente", "Linares", "3252"),
    ("Liceo de Niñas de Concepción", "Concepción", "4513"),
    ("Escuela Básica Las Salinas", "Talcahuano", "4640"),
    ("Escuela Básica Santa Fe", "Los Angeles", "4288"),
    ("Liceo Polivalente Lota", "Lota", "4769"),
    ("Escuela Arturo Mutizábal", "Chillán", "3671"),
    ("Liceo Pablo Neruda", "Temuco", "5576"),
    ("Escuela Básica Truf Truf", "Padre Las Casas", "5703"),
    ("Escuela Rural Piedra Alta", "Angol", "5405"),
    ("Liceo Armando Robles Rivera", "Valdivia", "6735"),
    ("Escuela Básica Rahue Alto", "Osorno", "7367"),
    ("Escuela Angelmó", "Puerto Montt", "7702"),
    ("Liceo Galvarino Riveros", "Castro", "7977"),
    ("Escuela Pedro Quintana Mansilla", "Coyhaique", "8278"),
    ("Liceo Juan Bautista Contardi", "Punta Arenas", "8462"),
    ("Liceo Manuel Barros Borgoño", "Santiago", "8490"),
    ("Escuela Básica Los Quillayes", "Puente Alto", "25070"),
    ("Colegio Ciudad de Maipú", "Maipú", "9876"),
    ("Escuela Oscar Castro Zúñiga", "La Florida", "9210"),
    ("Escuela Básica El Roble", "La Pintana", "10304"),
    ("Liceo Polivalente Renca", "Renca", "10057"),
    ("Escuela Básica Lo Hermida", "Peñalolén", "9045"),
    ("Escuela Diego Portales", "San Bernardo", "10647"),
    ("Liceo Politécnico de Melipilla", "Melipilla", "10790"),
]

# --- JUNJI ----------------------------------------------------------------------------------

JUNJI = {
    "slug": "junji", "short_name": "JUNJI", "folio_prefix": "JNJ",
    "name": "Junta Nacional de Jardines Infantiles",
    "contact_email": "oirs.junji@demo.ventanilla.cl",
}
JUNJI_TYPES = [
    ("reclamo", "Reclamo", "type2", 72, ""),
    ("consulta", "Consulta", "type2", 72, ""),
    ("sugerencia", "Sugerencia", "type1", 72, ""),
]
JUNJI_REQUESTER_TYPES = ["Apoderado", "Funcionaria/o de jardín", "Otro"]
JUNJI_AREA_OIRS = "OIRS JUNJI"
JUNJI_AREA_JARDINES = "Gestión de Jardines Infantiles"
JUNJI_AREAS = [JUNJI_AREA_OIRS, JUNJI_AREA_JARDINES]
JUNJI_TOPICS = [
    ("jardines", "Jardines infantiles", None, JUNJI_AREA_JARDINES),
    ("matricula", "Matrícula y listas de espera", "jardines", JUNJI_AREA_OIRS),
    ("sala_cuna", "Sala cuna", "jardines", JUNJI_AREA_JARDINES),
    ("alimentacion_jardin", "Alimentación en jardines", None, JUNJI_AREA_JARDINES),
]
JUNJI_SCHOOLS = [
    ("Jardín Infantil Pequeños Pasos", "Santiago", "13101-001"),
    ("Sala Cuna Los Copihues", "Puente Alto", "13201-014"),
    ("Jardín Infantil Rayito de Sol", "Valparaíso", "05101-007"),
    ("Jardín Infantil Semillita", "Temuco", "09101-022"),
    ("Jardín Infantil Las Araucarias", "Concepción", "08101-011"),
    ("Sala Cuna Arcoíris", "Antofagasta", "02101-005"),
]

# --- People ---------------------------------------------------------------------------------

FIRST_NAMES = [
    "María José", "Camila", "Valentina", "Javiera", "Francisca", "Constanza", "Catalina",
    "Fernanda", "Daniela", "Carolina", "Paola", "Marcela", "Patricia", "Claudia", "Rosa",
    "Ximena", "Gabriela", "Isidora", "Josefa", "Antonia", "Juan Pablo", "José", "Matías",
    "Benjamín", "Vicente", "Cristóbal", "Sebastián", "Felipe", "Rodrigo", "Cristian",
    "Luis", "Jorge", "Carlos", "Manuel", "Héctor", "Patricio", "Mauricio", "Nicolás",
    "Tomás", "Diego",
]
LAST_NAMES = [
    "González", "Muñoz", "Rojas", "Díaz", "Pérez", "Soto", "Contreras", "Silva",
    "Martínez", "Sepúlveda", "Morales", "Rodríguez", "López", "Fuentes", "Hernández",
    "Torres", "Araya", "Flores", "Espinoza", "Valenzuela", "Castillo", "Tapia", "Reyes",
    "Gutiérrez", "Castro", "Pizarro", "Álvarez", "Vásquez", "Sánchez", "Fernández",
    "Ramírez", "Carrasco", "Gómez", "Cortés", "Herrera", "Núñez", "Jara", "Vergara",
    "Rivera", "Figueroa", "Huenchullán", "Catrileo", "Millapán",
]
STUDENT_NAMES = ["Agustín", "Florencia", "Martina", "Joaquín", "Emilia", "Maximiliano",
                 "Trinidad", "Bastián", "Amanda", "Lucas", "Sofía", "Alonso"]
WEEKDAYS = ["lunes", "martes", "miércoles", "jueves", "viernes"]

# --- Texts: type code → list of (topic key, subject, detail) --------------------------------

TEXTS = {
    "reclamo": [
        ("pae_basica", "No llegó la colación del {dia}",
         "El {dia} no llegó el almuerzo a la {org} de {comuna}. Los niños de 3° y 4° básico "
         "se quedaron sin comer hasta la salida. No es la primera vez que pasa este mes."),
        ("pae_basica", "Comida en mal estado en el almuerzo",
         "Mi hijo {nombre} llegó a la casa con dolor de estómago. Dice que el pollo del "
         "almuerzo olía mal y varios compañeros no lo comieron. Estudia en {org}."),
        ("pae_basica", "Porciones muy pequeñas para estudiantes de media",
         "En {org} las porciones del almuerzo son las mismas para los de 1° básico que para "
         "los de 4° medio. Los jóvenes quedan con hambre y compran comida chatarra."),
        ("pae_kinder", "Leche del desayuno llega fría y tarde",
         "En el prekinder de {org} el desayuno se sirve después de las 10 y la leche viene "
         "fría. Las educadoras ya reclamaron a la empresa sin respuesta."),
        ("pae_celiaco", "Mi hija celiaca no recibe menú sin gluten",
         "Mi hija {nombre} es celiaca, con certificado médico entregado en marzo en {org}. "
         "Hace tres semanas le dan el mismo menú que a todos y no puede comerlo."),
        ("pae_biometrico", "El lector de huella no reconoce a mi hijo",
         "El sistema biométrico de {org} no reconoce la huella de {nombre} y por eso no le "
         "entregan el almuerzo. Ya lo enrolaron dos veces y sigue igual."),
        ("canastas", "Canasta incompleta",
         "Retiramos la canasta en {org} ({comuna}) y venía sin aceite ni legumbres, que "
         "aparecen en el listado. Otras familias del curso tienen el mismo problema."),
        ("canastas", "No me entregaron la canasta",
         "Fui el {dia} al horario informado a {org} y me dijeron que no quedaban canastas. "
         "Mi hijo {nombre} es beneficiario del PAE. ¿Cuándo la puedo retirar?"),
        ("baes", "Tarjeta BAES bloqueada",
         "Soy estudiante de educación superior y mi tarjeta BAES aparece bloqueada desde "
         "este mes. No he recibido ninguna explicación y no puedo comprar alimentos."),
        ("baes", "No me cargaron la BAES este mes",
         "Estamos a día 15 y la beca de alimentación no se ha cargado. En el instituto me "
         "dicen que es un tema de Junaeb. Necesito una solución urgente."),
        ("indigena", "Pago de Beca Indígena atrasado",
         "Me informaron que fui beneficiaria de la Beca Indígena, pero no he recibido el "
         "primer pago. Ya pasaron dos meses desde la publicación de resultados."),
        ("presidente", "Rechazo de renovación Beca Presidente de la República",
         "Mi renovación fue rechazada por promedio, pero mi certificado de notas muestra "
         "un 6,2. Creo que hubo un error en la información que recibió Junaeb."),
    ],
    "consulta": [
        ("pae", "¿Cómo postular a mi hijo al PAE?",
         "Mi hijo {nombre} se cambió a {org} este año y no recibe alimentación. ¿Qué "
         "trámite debo hacer para que quede como beneficiario del PAE?"),
        ("pae_celiaco", "Requisitos para menú celiaco",
         "Quiero saber qué documentos necesito presentar para que mi hija reciba la "
         "alimentación para celiacos en {org}."),
        ("pae_biometrico", "¿Qué pasa con los datos de la huella?",
         "En {org} están tomando la huella a los estudiantes para la alimentación. ¿Dónde se "
         "guardan esos datos y quién tiene acceso a ellos?"),
        ("canastas", "Fecha de entrega de canastas en {comuna}",
         "¿Cuándo será la próxima entrega de canastas en {org}? En el colegio no saben nada."),
        ("baes", "¿Hasta cuándo puedo usar la BAES?",
         "Estoy terminando mi carrera este semestre. ¿La BAES sigue vigente durante el "
         "verano o se corta al egresar?"),
        ("indigena", "Postulación a Beca Indígena",
         "¿Cuáles son las fechas de postulación a la Beca Indígena y qué certificado de "
         "la CONADI se necesita?"),
        ("presidente", "Renovación de Beca Presidente de la República",
         "¿La renovación de la Beca Presidente de la República es automática o tengo que "
         "postular de nuevo? Estoy en 3° medio en {org}."),
        ("becas", "¿Puedo tener dos becas a la vez?",
         "Tengo la Beca Indígena y quiero postular a la Beca Presidente de la República. "
         "¿Son compatibles?"),
    ],
    "ley-20285": [
        ("pae", "Solicitud de contratos PAE región",
         "Conforme a la Ley 20.285 solicito copia de los contratos vigentes del Programa de "
         "Alimentación Escolar para la comuna de {comuna}, con el nombre de las empresas."),
        ("pae", "Número de raciones entregadas",
         "Solicito el número de raciones diarias entregadas en {org} durante el último "
         "semestre, desagregado por tipo de servicio (desayuno, almuerzo, once)."),
        ("becas", "Estadísticas de beneficiarios de becas",
         "Requiero el número de beneficiarios de la Beca BAES y la Beca Indígena por región "
         "en los últimos tres años, en formato planilla."),
        ("canastas", "Costo de las canastas",
         "Solicito el costo unitario de las canastas entregadas en {comuna} y el detalle "
         "de los productos incluidos."),
    ],
    "sugerencia": [
        ("pae_basica", "Más fruta en el almuerzo",
         "Sugiero que en {org} se entregue fruta fresca más seguido; los niños la prefieren "
         "a los postres de leche."),
        ("pae_biometrico", "Alternativa a la huella",
         "Sería bueno tener una alternativa con tarjeta para los estudiantes a quienes el "
         "lector de huella no reconoce."),
        ("canastas", "Avisar entregas por WhatsApp",
         "Propongo que las fechas de entrega de canastas se avisen por WhatsApp a los "
         "apoderados; muchos no revisan la libreta."),
        ("baes", "Aumentar comercios BAES en regiones",
         "En {comuna} hay muy pocos locales que aceptan la BAES. Sugiero ampliar la red."),
    ],
    "felicitacion": [
        ("pae_basica", "Felicitaciones a las manipuladoras",
         "Quiero felicitar a las manipuladoras de alimentos de {org}: la comida es rica y "
         "tratan con mucho cariño a los niños."),
        ("canastas", "Buena organización en la entrega",
         "La entrega de canastas en {org} fue ordenada y rápida. Gracias al equipo."),
        ("baes", "Excelente atención en oficina",
         "Me atendieron muy bien en la oficina de Junaeb de {comuna} y me solucionaron el "
         "problema de la BAES el mismo día."),
    ],
}

JUNJI_TEXTS = {
    "reclamo": [
        ("sala_cuna", "Sala cuna sin calefacción",
         "En {org} la sala cuna lleva una semana sin calefacción y hace mucho frío en las "
         "mañanas."),
        ("alimentacion_jardin", "Mi hijo no recibió colación",
         "El {dia} mi hijo {nombre} no recibió la colación de la tarde en {org}."),
    ],
    "consulta": [
        ("matricula", "Lista de espera para matrícula",
         "Postulé a mi hija a {org} y aparece en lista de espera. ¿Cómo sé en qué lugar está?"),
        ("jardines", "Horario extendido",
         "¿{org} tiene horario extendido para madres y padres que trabajan hasta tarde?"),
    ],
    "sugerencia": [
        ("jardines", "Reuniones de apoderados en la tarde",
         "Sugiero hacer las reuniones de apoderados de {org} después de las 18:00."),
    ],
}

# What staff answer, by type code: (first answer, final answer).
REPLIES = {
    "reclamo": (
        "Junto con saludar, informamos que su reclamo fue derivado al área responsable, "
        "que tomó contacto con la empresa prestadora y con el establecimiento. Le "
        "informaremos las medidas adoptadas en los próximos días.",
        "Tras la fiscalización realizada se confirmó la situación informada. La empresa "
        "prestadora fue instruida y se aplicará el procedimiento de multas del contrato. "
        "Agradecemos su aviso, que permite mejorar el servicio.",
    ),
    "consulta": (
        "Estamos revisando los antecedentes de su consulta con el área correspondiente.",
        "Le informamos que el trámite se realiza a través del encargado PAE o de becas de "
        "su establecimiento, quien actualiza la información en el sistema de Junaeb. Si "
        "tiene dudas adicionales puede responder en la página de seguimiento.",
    ),
    "ley-20285": (
        "Su solicitud de acceso a la información fue admitida y se encuentra en trámite "
        "dentro del plazo legal de 20 días hábiles.",
        "Adjuntamos la información solicitada en conformidad con la Ley 20.285. Se omiten "
        "datos personales de terceros protegidos por la Ley 19.628.",
    ),
    "sugerencia": (
        "Agradecemos su sugerencia. Fue registrada y enviada al área responsable para su "
        "evaluación.", "",
    ),
    "felicitacion": (
        "Muchas gracias por su mensaje. Lo hicimos llegar al equipo y al establecimiento.", "",
    ),
}
WAITING_QUESTION = (
    "Para continuar necesitamos el RUT del estudiante y el curso. ¿Nos puede enviar esos "
    "datos respondiendo en la página de seguimiento?"
)
CITIZEN_ANSWER = "El RUT de mi hijo es el que indiqué y está en 5° básico B. Gracias."
TRIAGE_NOTES = [
    "Se contactó por teléfono al encargado PAE del establecimiento.",
    "Caso similar a otros de la misma comuna esta semana; revisar con la supervisión.",
    "Se solicitó informe a la empresa prestadora.",
    "Persona llamó nuevamente para saber el estado.",
]
AREA_CHANGE_REASON = "Corresponde al área según el tema informado."

# A topic whose answers need a supervisor's approval (health: celiac diets).
SENSITIVE_TOPIC = "PAE Celiaco"

# (root cause, corrective action) for complaints' final answers.
ROOT_CAUSES = [
    ("El proveedor no despachó las raciones a tiempo por una falla en su ruta de reparto.",
     "Se aplicó una multa al proveedor y se agregó un camión de respaldo para la zona."),
    ("La manipuladora no contaba con la minuta actualizada para el curso.",
     "Se capacitó al personal del establecimiento y se envió la minuta vigente."),
    ("Error en el registro de beneficiarios del establecimiento.",
     "Se corrigió la nómina y se instruyó la revisión mensual por parte del encargado PAE."),
    ("Falla en la cadena de frío durante el transporte de los alimentos.",
     "Se reemplazó el vehículo refrigerado y se reforzó el control de temperatura al recibir."),
]
