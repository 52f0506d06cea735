"""Health information tied to a person (``MEDICAL_CONDITION``) and record numbers.

A message is health information when three things meet in one sentence:

1. a health term: a condition, medication, treatment or test (``health_terms``);
2. a clinical relation: "diagnosed with", "tested positive for", "admitted
   with", "is on <drug>", "<test> came back", or possession of a serious
   condition ("Dana has lupus", "her diabetes");
3. an identifiable person: a Slack mention, a name, "patient", "my wife", or
   the author ("I was diagnosed ...").

So "flu season", "our diabetes feature ships Friday" and "Sam is out sick"
stay clean: no relation, or no health term. Names are found with cheap
heuristics first; spaCy NER runs only on the sentence around a health term,
and only when the heuristics found no person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

from piiguard.detection.recognizers.base import Hit, PiiRecognizer
from piiguard.detection.recognizers.context import TextView, word_pattern
from piiguard.detection.recognizers.health_terms import find_terms, prefilter_keywords
from piiguard.detection.recognizers.validation import words

HEALTH_KEYWORDS: tuple[str, ...] = tuple(
    sorted(set(prefilter_keywords())
           | {"mrn", "medical record", "diagnos", "admitted", "hospitali", "treated for",
              "tested positive", "suffering from", "suffers from", "dx", "diagnostic",
              "internad", "ingresad", "embarazad", "grávida", "gravida"})
)
# A clinical verb names the condition even when our vocabulary does not know it.
_CLINICAL_OBJECT = re.compile(
    r"(?:diagnosed\s+with|admitted\s+(?:with|for)|hospitali[sz]ed\s+(?:with|for)|"
    r"treated\s+for|tested\s+positive\s+for|suffering\s+from|suffers\s+from|\bdx\s?:|"
    r"diagnosticad[oa]s?\s+(?:con|com)|diagn[oó]stico\s+de|sofre\s+de|padece(?:\s+de)?|"
    r"sufre\s+de|(?:being\s+)?treated\s+for|treatment\s+for|tratamiento\s+(?:para|de|contra)|"
    r"tratamento\s+(?:para|de|contra))"
    r"\s+(?:an?\s+|acute\s+|severe\s+|chronic\s+|early\s+|late\s+|um\s+|uma\s+|una?\s+)?"
    r"([A-Za-zÀ-ÿ][\w'-]{3,30})",
    re.IGNORECASE,
)

_STRONG = word_pattern(
    ("diagnosed", "diagnosis", "diagnoses", "dx", "dx'd", "tested positive", "positive for",
     "came back positive", "admitted to", "admitted with", "admitted for", "hospitalized",
     "hospitalised", "treated for", "treatment for", "being treated", "undergoing",
     "started on", "prescribed", "prescription", "suffers from", "suffering from",
     "suffered", "living with", "battling", "fighting", "recovering from", "relapsed",
     "relapse", "presented with", "presenting with", "complains of", "history of", "hx of",
     "in remission", "terminally ill", "passed away from", "died of", "confirmed case",
     "has been diagnosed", "was found to have", "struggles with", "struggling with",
     "treating", "caught", "flare-up", "flare up", "flared up", "his doctor", "her doctor",
     "my doctor", "their doctor", "oncologist", "psychiatrist", "cardiologist",
     # Spanish
     "diagnosticado", "diagnosticada", "diagnosticaron", "diagnóstico", "dio positivo",
     "ingresado", "ingresada", "hospitalizado", "hospitalizada", "en tratamiento",
     "tratamiento de", "tratamiento para", "tratamiento contra", "le recetaron",
     "me recetaron", "recetado", "recetada", "padece", "sufre de", "lucha contra",
     "luchando contra", "recuperándose de", "se está recuperando", "su médico",
     "mi médico",
     # Portuguese
     "diagnosticaram", "deu positivo", "testou positivo", "internado", "internada",
     "em tratamento", "tratamento de", "tratamento para", "tratamento contra",
     "receitaram", "receitado", "receitada", "sofre de", "lutando contra",
     "se recuperando de", "está se recuperando", "seu médico", "meu médico",
     # operated on: the verb is the procedure
     "operaron", "operó", "se operó", "operado", "operada", "operou", "foi operado",
     "foi operada"),
)  # fmt: skip
_POSSESSION = re.compile(
    r"(?:\b(?:has|had|have|having|got|gets|with|his|her|their|my|of|"
    r"tiene|tenía|tuvo|tengo|con|padece|su|sus|mi|mis|"
    r"tem|tinha|teve|tenho|com|sua|seu|suas|seus|minha|meu|dele|dela)|['\u2019]s)"
    r"(?:\s+(?!(?:and|but|or|on|about|of|for|in|at|to|from|into|is|was|talk|research|"
    r"team|project|work|paper|book|article|study|feature|app|y|e|o|para|sobre|de|do|da)\b)"
    r"[a-zà-ÿ0-9'-]{1,20}){0,2}\s+$",
    re.IGNORECASE,
)
_MED_RELATION = re.compile(
    r"(?:(?:\b(?:is|was|been|be|started|put|now|still|are|am|got|went|i'm|he's|she's|they're|"
    r"we're)|['\u2019](?:s|re|m))\s+(?:back\s+|now\s+|still\s+)?on|\btaking|\btakes|\btook|\btake|\bstarted|\bstarting|"
    r"\bprescribed|\bswitched\s+to|\bswitching\s+to|\bneeds|\brefill\w*|\bdose\s+of|"
    r"\bmg\s+of|\bupped|\bincreased|\bdoubled|\bweaning\s+off|\bcoming\s+off|\boff\s+(?:his|her|"
    r"my|their)|\binjects?|\bon\s+(?:his|her|my|their)|\buses|\bused|\bwears|\bwearing|"
    r"\bcarries|\bcarrying|\bpicked\s+up\s+(?:his|her|my|their)|"
    r"\btoma|\btomando|\btomó|\btomar|\bestá\s+con|\brecetaron|\brecetad[oa]|\breceta\s+de|"
    r"\bempezó\s+(?:con|a\s+tomar)|\bdosis\s+de|\bmg\s+de|\btomou|\bestá\s+com|\breceitaram|"
    r"\breceitad[oa]|\breceita\s+de|\bcomeçou\s+(?:a\s+tomar|com)|\bdose\s+de|\busa|\busando)"
    r"(?:\s+(?:his|her|their|my|the|a|some|daily|more|su|sus|el|la|los|las|mi|seu|sua|o|a|os|"
    r"as|meu|minha|de))?(?:\s+[a-zà-ÿ0-9-]{1,15})?\s+$",
    re.IGNORECASE,
)
_TEST_AFTER = re.compile(r"^\s{0,2}[:=]?\s{0,2}\d")
_MED_AFTER = re.compile(
    r"^\s*(?:\d+(?:\.\d+)?\s?(?:mg|mcg|ml|units?|iu)\b|(?:shots?|injections?|dose|doses|"
    r"prescription|refill)\b)",
    re.IGNORECASE,
)
_TREATMENT_RELATION = re.compile(
    r"\b(?:undergoing|undergo|underwent|starting|started|start|starts|doing|does|did|getting|"
    r"gets|get|got|had|has|have|having|finished|finishing|finishes|in|(?:is|are|was|were|been|be|'s|'re|'m|now|still|currently|back|started|put)\s+on|into|going\s+through|"
    r"goes\s+through|went\s+through|through|scheduled\s+for|booked\s+for|needs|needed|need|"
    r"recovering\s+from|recovers\s+from|back\s+from|after|post|round\s+of|rounds\s+of|"
    r"session\s+of|went\s+to|goes\s+to|checked\s+into|for|out\s+for|off\s+for|receiving|"
    r"receives|received|begins|began|begin|continues|continuing|completed|completes|"
    r"haciendo|hace|hizo|recibiendo|recibe|empezó|empieza|termina|terminó|tiene|tuvo|"
    r"después\s+de|sesiones?\s+de|en|con|operad[oa]\s+de|fazendo|faz|fez|recebendo|começou|"
    r"começa|terminou|sessões?\s+de|tem|teve|depois\s+da|depois\s+do|após|passou\s+por|"
    r"vai\s+fazer|em|com|de|na|no|nas|nos|numa|num|pela|pelo|en\s+la|en\s+el|del|al|por|"
    r"because\s+of|due\s+to)"
    r"(?:\s+(?:a|an|the|his|her|their|my|another|more|second|third|first|last|next|weekly|"
    r"daily|emergency|su|sus|la|el|una|un|mi|seu|sua|o|a|uma|um|meu|minha|nova|nueva|"
    r"\d+\s+(?:weeks?|months?|rounds?|sessions?)\s+of))?"
    # where on the body: "out for a knee arthroscopy", "having hip replacement surgery"
    r"(?:\s+(?:minor|major|routine|small|quick|knee|hip|shoulder|back|spine|spinal|heart|"
    r"cardiac|brain|eye|cataract|wrist|ankle|elbow|neck|lung|kidney|liver|gallbladder|"
    r"bladder|bowel|colon|breast|skin|dental|jaw|foot|hand|leg|arm|acl|sinus|thyroid|"
    r"prostate|ovarian|uterine|cervical|lumbar|rotator\s+cuff|joint|bone\s+marrow|"
    r"de\s+(?:rodilla|cadera|joelho|quadril)))?\s+$",
    re.IGNORECASE,
)
_TREATMENT_AFTER = re.compile(
    r"^\s*(?:sessions?|appointments?|treatments?|rounds?|cycles?|recovery|today|tomorrow|"
    r"this\s+week|next\s+week|on\s+(?:monday|tuesday|wednesday|thursday|friday)|"
    r"sesiones?|sessões?)\b",
    re.IGNORECASE,
)
_TEST_RESULT = re.compile(
    r"\b(?:came\s+back|results?|showed|shows|revealed|confirmed|positive|negative|abnormal|"
    r"elevated|was\s+high|is\s+high|was\s+low|is\s+low|levels?|found|detected|"
    r"(?:was|is|at|of)\s+\d|salió|salieron|dio|resultado|positivo|negativo|alto|alta|"
    r"elevad[oa]|anormal|mostró|deu|veio|vieram|alterad[oa]|mostrou)",
    re.IGNORECASE,
)
_STATE_BEFORE = re.compile(
    r"(?:\b(?:is|was|are|am|were|been|be|became|become|becoming|got|gets|getting|now|still|"
    r"currently|finally|officially|her|his|my|their|our|on|going\s+on|starts?|started|"
    r"starting|uses|using|use|in|into|to|from|back\s+from|out\s+of|left|stays?\s+in|"
    r"has|have|had|having|with|lives\s+with|living\s+with|tem|tiene|con|com|"
    r"está|estaba|estuvo|es|quedó|usa|ingresó\s+en|al|en|su|mi|sua|seu|minha|meu|ficou|"
    r"estava|é|no|na|em|foi\s+para\s+o|foi\s+internad[oa]\s+n[oa])|['\u2019](?:s|m|re))"
    r"(?:\s+(?:a|an|the|el|la|o|legally|completely|partially|totally|very|about|almost|"
    r"nearly|quase|casi|\d+|\d+\s+(?:weeks?|months?|semanas|meses)))?"
    r"(?:\s+(?!(?:and|or|but|for|about|the)\b)[a-z-]{3,20})?\s+$",
    re.IGNORECASE,
)
# Words after a term that make it a topic, not a person's health (cancer research grant).
_TOPIC_AFTER = re.compile(
    r"^[\s-]*(?:(?:it|data|billing|records|admin|ops|sales|marketing|finance|software|tech|"
    r"network|security|integration|analytics|product|platform)\s+)?(?:research|grant|grants|program|programme|project|team|awareness|foundation|"
    r"society|center|centre|institute|drug|drugs|market|markets|sales|revenue|study|studies|"
    r"trial|trials|screening|campaign|feature|features|app|apps|charity|fundraiser|walk|run|"
    r"month|week|day|policy|policies|coverage|benefit|benefits|insurance|act|law|laws|rights|"
    r"inclusion|access|accessibility|friendly|unit|units|ward|wing|department|dept|module|"
    r"service|services|dashboard|data|dataset|model|models|pipeline|api|spot|spots|review|"
    r"reviews|eye|date|side|copy|signature|audition|testing|tests?|test\s+suite|simulator|"
    r"pricing|patent|patents|launch|supply|shortage|shortages|maker|makers|manufacturer|"
    r"stock|shares|billing|codes?|claims?|form|forms|portal|system|systems|parking|cafeteria|"
    r"lot|staff|nurses|doctors|workers|network|account|client|customer|vendor|contract|"
    r"deal|partnership|board|stocks|industry|sector|space|vertical|startup|company|"
    r"battery|batteries|ion|mine|mines|mining|price|prices|calculator|calculators|tracker|"
    r"ops|role|roles|position|positions|job|jobs|opening|openings|hiring|recruiting|"
    r"users|customers|clients|partners|portal|general|"
    r"advocate|advocates|advocacy|activist|activists|community|communities|organization|"
    r"organisation|nonprofit|conference|summit|panel|talk|talks|event|events|podcast|"
    r"webinar|course|courses|training|certification|expert|experts|specialist|specialists|"
    r"researcher|researchers|scientist|scientists|journal|guidelines|guideline|protocol|"
    r"trackers|tool|tools|widget|scheduler|scheduling|booking|flow|ui|page|screen|dosage\s+"
    r"calculator|module|modules|demo|simulation|sim|"
    r"investigación|programa|proyecto|equipo|campaña|mercado|ventas|estudio|pesquisa|"
    r"projeto|equipe|campanha|mercado|vendas|estudo)\b",
    re.IGNORECASE,
)
_VISIT_AFTER = re.compile(
    r"^[\s,]*(?:\w+\s+){0,2}?(?:for\s+(?:a|the|our)\s+(?:meeting|demo|install|visit|site\s+visit|"
    r"rollout|training|pitch|sales)|to\s+(?:meet|visit|see\s+the\s+client|install|demo|"
    r"pitch|train)|visiting|on\s+a\s+site\s+visit|with\s+the\s+client|"
    r"para\s+(?:a|la|uma|una)\s+(?:reunião|reunión|demo|visita|instalação|instalación|"
    r"apresentação|presentación)|com\s+o\s+cliente|con\s+el\s+cliente|para\s+visitar)",
    re.IGNORECASE,
)
_SPECIALIST_BEFORE = re.compile(
    r"(?:\b(?:his|her|their|my|your|su|sus|mi|mis|seu|sua|meu|minha|dele|dela|sees|saw|seeing|"
    r"see|visits|visited|visiting|with|con|com|al|ao|à)|['\u2019]s)"
    r"(?:\s+(?:a|an|the|new|regular|usual|el|la|o|a|um|uma|un|una))?\s+$",
    re.IGNORECASE,
)
_BLIND_DEAF_AFTER = re.compile(r"^\s*(?:to|on|with|as)\b", re.IGNORECASE)
_MENTION = re.compile(r"<@[UW][A-Z0-9]{2,20}(?:\|[^<>]{0,80})?>")
_PATIENT = word_pattern(("patient", "pt", "pt.", "the patient", "inpatient", "outpatient",
                         "el paciente", "la paciente", "o paciente", "a paciente", "paciente"))
_ROLES = (
    r"wife|husband|partner|spouse|son|daughter|kid|kids|child|baby|mom|mum|mother|dad|father|"
    r"brother|sister|boyfriend|girlfriend|fianc[eé]e?|grandma|grandmother|grandpa|"
    r"grandfather|uncle|aunt|cousin|roommate|colleague|coworker|co-worker|manager|boss|"
    r"teammate|neighbou?r|nephew|niece|stepson|stepdaughter|in-laws?|mother-in-law|"
    r"father-in-law|cfo|ceo|cto|coo|ciso|cmo|vp|svp|evp|founder|co-founder|cofounder|"
    r"director|lead|tech\s+lead|team\s+lead|supervisor|intern|new\s+hire|contractor|"
    r"assistant|direct\s+report|report|engineer|designer|recruiter|client|landlord|tenant|"
    r"friend|best\s+friend|ex|admin|chair|chairman|chairwoman|president|head\s+of\s+\w+|"
    r"pm|product\s+manager|em|engineering\s+manager|hr\s+rep|nanny|caregiver|mentor|mentee|"
    r"skip-level|skip|buddy|sponsor|counterpart|peer|officemate|deskmate|classmate|"
    r"housemate|flatmate|guy|girl|lady|man|woman|analyst|developer|dev|architect|"
    r"consultant|accountant|receptionist|coordinator|specialist|officer|executive|"
    r"partner|owner|cofounder|staff\s+engineer|sre|qa|tester|admin|secretary|"
    r"paralegal|driver|chef|cook|teacher|coach|trainer|doctor|nurse|therapist|"
    r"scrum\s+master|product\s+owner|account\s+(?:manager|executive)|line\s+manager|"
    r"chief\s+\w+|head|dean|professor|student|tutor|principal|pastor|priest|rabbi|imam|"
    r"godmother|godfather|stepmom|stepdad|stepmother|stepfather|twin|granddaughter|grandson|"
    r"son-in-law|daughter-in-law|brother-in-law|sister-in-law|"
    r"uncle|auntie|neighbor|colleague|teammates|contact|champion|customer|patient|member|"
    r"teacher|lawyer|leader|player|banker|broker|buyer|seller|writer|reporter|programmer|"
    r"researcher|volunteer|caretaker|babysitter|photographer|producer|planner|controller|"
    r"auditor|investor|advisor|adviser|bookkeeper|cleaner|plumber|farmer|baker|barber|"
    r"gardener|carpenter|painter|singer|dancer|drummer|rapper|blogger|streamer|member|"
    r"\w+(?:or|ist|ian)(?<!server)(?<!computer)(?<!container)(?<!browser)(?<!cluster)"
    r"(?<!number)(?<!order)(?<!folder)(?<!user)(?<!parameter)(?<!counter)(?<!header)"
    r"(?<!footer)(?<!buffer)(?<!layer)(?<!filter)(?<!router)(?<!adapter)(?<!controller)"
    r"(?<!monitor)(?<!sensor)(?<!processor)(?<!error)(?<!mirror)(?<!vendor)(?<!center)"
    r"(?<!paper)(?<!letter)(?<!poster)(?<!water)(?<!weather)(?<!winter)(?<!summer)"
    r"(?<!matter)(?<!chapter)(?<!cancer)(?<!tumor)(?<!disorder)(?<!floor)(?<!door)"
    r"(?<!color)(?<!colour)(?<!factor)(?<!vector)(?<!sector)(?<!tensor)(?<!behavior)"
    r"(?<!editor)(?<!scheduler)(?<!worker)(?<!runner)(?<!builder)(?<!loader)(?<!handler)"
    r"(?<!helper)(?<!wrapper)(?<!tracker)(?<!timer)(?<!trigger)(?<!marker)(?<!poller)"
    r"(?<!scanner)(?<!printer)(?<!charger)(?<!speaker)(?<!laptop)(?<!desktop)"
    r"(?<!calendar)(?<!character)(?<!register)(?<!answer)(?<!power)(?<!tower)"
    r"(?<!corner)(?<!border)(?<!major)(?<!minor)(?<!prior)(?<!mentor_)(?<!later)"
    r"(?<!other)(?<!either)(?<!neither)(?<!whether)(?<!together)(?<!never)(?<!ever)"
    r"(?<!over)(?<!under)(?<!after)(?<!offer)(?<!sooner)(?<!better)(?<!bigger)"
    r"(?<!daughter)(?<!history)(?<!category)(?<!theory)(?<!story)(?<!memory)"
)
_ROLES_ES_PT = (
    r"esposa|esposo|marido|mujer|mulher|pareja|hijo|hija|filho|filha|madre|mamá|mãe|padre|"
    r"papá|pai|hermano|hermana|irmão|irmã|abuela|abuelo|avó|avô|tío|tía|tio|tia|primo|prima|"
    r"novio|novia|namorado|namorada|jefe|jefa|chefe|gestor|gestora|gerente|compañero|"
    r"compañera|colega|director|directora|diretor|diretora|cliente|vecino|vecina|vizinho|"
    r"vizinha|suegra|suegro|sogra|sogro|amigo|amiga|socio|sócio|sócia|cfo|ceo|cto"
)
_RELATIVE = re.compile(
    rf"\b(?:(?:my|his|her|their|our|your|the|one\s+of\s+our)\s+(?:[a-z-]{{2,20}}\s+)?"
    rf"(?:{_ROLES})"
    rf"|(?:mi|su|nuestro|nuestra|tu|meu|minha|seu|sua|nosso|nossa|teu|tua|el|la|o|a)\s+"
    rf"(?:{_ROLES_ES_PT}))\b",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(
    r"(?<![A-Za-z'])(?:I|I'm|I've|I'd|Im|i'm|i've)\b(?:\s+(?:was|am|have|had|just|got|"
    r"been|recently|finally|officially|also|still|now|'m|'ve)){0,3}"
    r"|\b(?:estoy|tengo|me\s+diagnosticaron|me\s+recetaron|me\s+operaron|yo|estou|tenho|"
    r"me\s+diagnosticaram|fui\s+diagnosticad[oa]|me\s+receitaram|eu)\b",
    re.IGNORECASE,
)
_MY_TERM = re.compile(r"\b(?:my|mi|mis|meu|minha|meus|minhas)\s+(?:[a-zà-ÿ0-9'-]{1,20}\s+){0,2}$",
                      re.IGNORECASE)
_NOT_SUBJECTS = frozenset(
    {"i", "he", "she", "they", "it", "who", "that", "which", "this", "there", "one", "nobody",
     "somebody", "someone", "anyone", "everyone", "what", "user", "customer", "person"}
)
_LOWER_SUBJECT = re.compile(
    r"(?<![\w'])([A-Za-z][a-z'-]{1,20})\s+(?:was|is|has\s+been|got|just\s+got|had\s+been)\s+"
    r"(?:just\s+|recently\s+|officially\s+|finally\s+)?"
    r"(?:diagnosed|admitted|hospitali[sz]ed|treated\s+for|tested\s+positive)"
)
_PRONOUN = re.compile(
    r"\b(?:he|she|they|he's|she's|they're|him|her|them|his|their|él|ella|ellos|ellas|ele|ela|"
    r"eles|elas|dele|dela)\b",
    re.IGNORECASE,
)
# He or she names one person even without an antecedent in the message (it is
# often in the thread above); "they" may be a group, so it needs one.
_THIRD_PERSON_SINGULAR = re.compile(
    r"\b(?:he|she|he's|she's|he'd|she'd|him|his|hers|él|ella|ele|ela|dele|dela)\b"
    r"|\bher\b",
    re.IGNORECASE,
)
_GENERIC = word_pattern(
    ("users", "customers", "people", "patients", "folks", "someone", "somebody", "anyone",
     "everyone", "many", "millions", "kids", "children", "adults", "americans", "employees",
     "members", "population", "those", "others", "nobody", "a customer", "a user",
     "a patient", "individuals", "veterans", "seniors", "athletes", "participants",
     "clients", "subjects", "cohort", "anybody", "men", "women", "usuarios", "usuários",
     "clientes", "personas", "pessoas", "pacientes", "gente", "muchos", "muitos", "nadie",
     "ninguém", "alguien", "alguém", "la población", "a população"),
)  # fmt: skip
_NAME = re.compile(
    r"(?<![\w@#<|/.-])((?:Dr\.?\s+|Mr\.?\s+|Mrs\.?\s+|Ms\.?\s+|Sr\.?\s+|Sra\.?\s+)?"
    r"[A-ZÀ-Ý][a-zà-ÿ]{1,20}(?:[-'\u2019][A-ZÀ-Ý][a-zà-ÿ]{1,20})?"
    r"(?:\s+[A-ZÀ-Ý][a-zà-ÿ]{1,20}(?:[-'\u2019][A-ZÀ-Ý][a-zà-ÿ]{1,20})?){0,2})"
    r"(?:['\u2019]s)?(?![\w])"
)
_NOT_NAMES = words(
    """i i'm i've we they he she it this that these those there here the a an our my your his
    her their its what when where why how who which if so but and or also just hey hi hello
    thanks thank please quick update note heads reminder good great sorry looks seems
    apparently today yesterday tomorrow tonight monday tuesday wednesday thursday friday
    saturday sunday january february march april may june july august september october
    november december team patient doctor dr nurse mr mrs ms fyi btw ok okay yes no not
    all any some every each both few many much more most other such only own same than too
    very can will just should now new old first last next per via re fwd cc bcc hr it ops
    slack google amazon aws microsoft apple zoom jira github gitlab confluence notion
    figma salesforce stripe datadog sentry pagerduty friday's week month year day morning
    afternoon evening night q1 q2 q3 q4 eod eow asap pto ooo wfh lol omg congrats
    welcome happy merry pls plz thx ty np idk imo tbh after before since until while during
    because although though unless whether then once about above across against along among
    around at by down for from in into like near of off on onto out over past through to
    toward under up upon with within without according as is was are were be been being
    has have had do does did done get got go going gone make made take took see saw let
    keep kept put said say says tell told ask asked call called still even again never
    always often sometimes maybe perhaps probably definitely really actually basically
    honestly anyway however meanwhile otherwise therefore thus hence yeah yep nope sure
    alright cool nice awesome wow oh ah um uh hmm well right left out sick home office
    remote hospital clinic er urgent care emergency covid flu cancer diabetes hiv aids
    type stage chronic acute severe mild early late positive negative results result test
    tests scan scans blood lab labs mri ct pet ekg ecg icu pharmacy medical health
    insurance benefits leave medical-leave fmla hipaa phi pii ssn nhs mrn dob
    quarter sprint standup retro release deploy prod staging incident outage customer
    customers user users product feature project launch pfizer novo nordisk merck lilly
    moderna roche novartis sanofi abbvie astrazeneca bayer gilead amgen biogen takeda
    regeneron teva cvs walgreens kaiser ceo cfo cto coo vp hola oi bom buenos buen dia día
    gracias obrigado obrigada ayer hoy mañana ontem hoje amanhã semana lunes martes
    miércoles jueves viernes segunda terça quarta quinta sexta el la los las lo un una o os
    as um uma mi meu minha su sua seu nuestro nosso y e pero mas que porque porque é está
    estaba estava ele ela él ella"""
)


def _term_is_name_word(word: str) -> bool:
    return bool(find_terms(word.lower()))


def _first_names() -> frozenset[str]:
    data = resources.files("piiguard.detection.recognizers") / "data" / "first_names.txt"
    return frozenset(line.strip() for line in data.read_text("utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))


FIRST_NAMES = _first_names()
_DETERMINER_BEFORE = re.compile(r"\b(?:the|a|an|this|that|our|my|your|el|la|o|os)\s+$",
                                re.IGNORECASE)
_LOWER_WORD = re.compile(r"(?<![\w@#<|/.-])([a-zà-ÿ]{2,20})(?:['\u2019]s)?(?![\w])")


def _names(text: str, start: int, end: int) -> list[int]:
    """Positions of names in text[start:end]: capitalised name-like words, or known first names."""
    positions: list[int] = [
        m.start(1) for m in _LOWER_WORD.finditer(text, start, end)
        if m.group(1) in FIRST_NAMES
        and not _DETERMINER_BEFORE.search(text, max(0, m.start(1) - 8), m.start(1))
    ]
    for match in _NAME.finditer(text, start, end):
        parts = re.split(r"\s+", match.group(1).replace("\u2019", "'"))
        first = parts[0].rstrip(".").lower()
        if first in ("dr", "mr", "mrs", "ms", "sr", "sra") and len(parts) > 1:
            positions.append(match.start(1))
            continue
        kept = [w for w in parts if w.lower().split("'")[0] not in _NOT_NAMES
                and not _term_is_name_word(w)]
        if kept and len(kept) == len(parts):
            positions.append(match.start(1))
        elif kept and len(parts) >= 2 and parts[0].lower() in _NOT_NAMES:
            # "Today Dana Reyes ..." - a sentence starter before a name
            positions.append(match.start(1) + match.group(1).find(kept[0]))
    return positions


_SENTENCE_END = re.compile(r"[.!?;](?=\s)|\n")


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence around [start, end), bounded to a few hundred characters."""
    lo = max(0, start - 220)
    left = lo
    for match in _SENTENCE_END.finditer(text, lo, start):
        left = match.end()
    right_match = _SENTENCE_END.search(text, end, min(len(text), end + 160))
    right = right_match.start() if right_match else min(len(text), end + 160)
    return left, right


# Categories whose mere state, tied to a person, is health information.
_STATES = frozenset({"pregnancy", "disability", "hospital"})
_FIGURATIVE_STATES = frozenset({"blind", "deaf", "ciego", "ciega", "sordo", "sorda", "cego",
                                "cega", "surdo", "surda", "disabled", "hospital"})


class GuardMedicalConditionRecognizer(PiiRecognizer):
    """A condition, medication, treatment, test result or health state tied to a person.

    Terms come from the shipped vocabularies (``recognizers/data/health_*.txt``,
    English, Spanish and Portuguese), matched on word tokens; each category
    asks for its own relation (a condition someone *has*, a drug someone is
    *on*, a procedure someone *undergoes*, a result that *came back*, a state
    someone *is in*), and the sentence must name a person: a mention, a name,
    a role ("my manager", "our CFO", "mi jefe"), the author, or a pronoun
    whose antecedent stands just before.
    """

    ENTITIES = ("MEDICAL_CONDITION",)
    KEYWORDS = HEALTH_KEYWORDS

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        text = view.text
        reported: list[tuple[int, int]] = []
        for hit in self._vocabulary_hits(view, nlp_artifacts):
            reported.append(_sentence(text, hit.start, hit.end))
            yield hit
        for match in _CLINICAL_OBJECT.finditer(text):
            start, end = match.span(1)
            sentence = _sentence(text, start, end)
            if sentence in reported or match.group(1).lower() in _NOT_NAMES:
                continue
            if self._person(view, nlp_artifacts, *sentence, start, True, "serious"):
                reported.append(sentence)
                yield Hit("MEDICAL_CONDITION", start, end, 0.8)

    def _vocabulary_hits(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        text = view.text
        for start, end, category in find_terms(view.lower):
            if view.in_noise(start, end) and not _MENTION.search(text, max(0, start - 5), end):
                # a term inside a URL or channel name (#diabetes-feature) is not about a person
                if "<" in text[max(0, start - 80) : start] or "://" in text[max(0, start - 80) : start]:
                    continue
            if text[max(0, start - 1) : start] in ("#", "/", "_", "-", ".") or (text[
                end : end + 1
            ] in ("_", "/", "-") and not text[end : end + 3].startswith("-up")):
                continue  # channel names, paths, identifiers
            s_start, s_end = _sentence(text, start, end)
            before = text[max(s_start, start - 80) : start]
            after = text[end : min(s_end, end + 60)]
            if _TOPIC_AFTER.match(after) and category not in _STATES:
                continue
            if category in _STATES and (_TOPIC_AFTER.match(after) or (
                view.lower[start:end] in _FIGURATIVE_STATES and _BLIND_DEAF_AFTER.match(after)
            )):
                continue
            if category == "hospital" and _VISIT_AFTER.match(after):
                continue  # at the hospital for a meeting with their IT team
            if view.lower[start:end] in ("stroke", "a stroke") and after.lstrip().startswith("of"):
                continue  # a stroke of luck
            strong = bool(_STRONG.search(text[s_start:s_end]))
            if not self._related(category, view.lower[start:end], before, after, strong):
                continue
            if self._person(view, nlp_artifacts, s_start, s_end, start, strong, category):
                yield Hit("MEDICAL_CONDITION", start, end, 0.85)

    @staticmethod
    def _related(category: str, term: str, before: str, after: str, strong: bool) -> bool:
        if category in ("mild", "otc"):
            return strong
        if category == "specialist":  # her oncologist, sees a psychiatrist, mi psiquiatra
            return bool(_SPECIALIST_BEFORE.search(before))
        if category == "serious":
            return strong or bool(_POSSESSION.search(before))
        if category == "med":
            return strong or bool(_MED_RELATION.search(before) or _MED_AFTER.search(after))
        if category == "treatment":
            return strong or bool(_TREATMENT_RELATION.search(before)
                                  or _POSSESSION.search(before)
                                  or (_TREATMENT_AFTER.search(after) and term != "therapy"))
        if category in _STATES:
            if term in ("hospital", "the hospital", "el hospital", "o hospital", "icu", "the icu",
                        "the er", "uci", "uti"):
                return bool(re.search(
                    r"\b(?:in|into|to|from|out\s+of|left|en|al|no|na|do|da|para\s+[oa])"
                    r"(?:\s+(?:the|el|la|o|a))?\s+$", before, re.IGNORECASE))
            return strong or bool(_STATE_BEFORE.search(before))
        # tests: a result, not just an appointment
        return bool(_TEST_RESULT.search(after) or _TEST_RESULT.search(before[-40:])
                    or _TEST_AFTER.search(after))

    def _person(
        self, view: TextView, nlp_artifacts: Any, s_start: int, s_end: int, term: int,
        strong: bool, category: str,
    ) -> bool:
        text = view.text
        sentence = text[s_start:s_end]
        generic = list(_GENERIC.finditer(text, max(s_start, term - 50), term))
        floor = generic[-1].end() if generic else -1
        refs: list[int] = []
        refs += [m.start() for m in _MENTION.finditer(text, s_start, s_end)]
        refs += [m.start() for m in _PATIENT.finditer(text, s_start, s_end)]
        refs += [m.start() for m in _RELATIVE.finditer(text, s_start, s_end)]
        refs += _names(text, s_start, s_end)
        my_term = _MY_TERM.search(text[max(s_start, term - 40) : term])
        first_person_counts = strong or my_term or category in (
            "med", "treatment", "pregnancy", "disability", "hospital", "serious")
        if first_person_counts:
            refs += [m.start() for m in _FIRST_PERSON.finditer(text, s_start, s_end)]
            if my_term:
                refs.append(term - 1)
        refs += [m.start(1) for m in _LOWER_SUBJECT.finditer(text, s_start, s_end)
                 if m.group(1).lower() not in _NOT_SUBJECTS and not _GENERIC.fullmatch(m.group(1))]
        if any(r > floor for r in refs):
            return True
        if generic:
            return False
        if first_person_counts and _THIRD_PERSON_SINGULAR.search(sentence):
            return True  # "she's on lithium": he or she is one person, as "I" is
        if _PRONOUN.search(sentence):
            wide_lo, wide_hi = max(0, s_start - 300), min(len(text), s_end + 100)
            if (_names(text, wide_lo, wide_hi) or _MENTION.search(text, wide_lo, wide_hi)
                    or _RELATIVE.search(text, wide_lo, wide_hi)):
                return True
        persons = getattr(nlp_artifacts, "persons_between", None)
        if callable(persons):
            return bool(persons(s_start, s_end))
        return False

    @staticmethod
    def ner_windows(text: str) -> list[tuple[int, int]]:
        """Sentences NER would be asked about, so a batch can pre-compute them."""
        windows: list[tuple[int, int]] = []
        for start, end, _category in find_terms(text.lower()):
            window = _sentence(text, start, end)
            if not windows or windows[-1] != window:
                windows.append(window)
            if len(windows) >= 20:
                break
        return windows


_MRN = re.compile(
    r"(?<![A-Za-z0-9])(?:mrn|medical\s+record(?:s)?(?:\s+(?:number|no\.?|num|#))?|"
    r"med\s+rec(?:ord)?\s*(?:#|no\.?|number)?|patient\s+(?:id|number|no\.?|#)|"
    r"chart\s+(?:number|no\.?|#)|hospital\s+(?:number|no\.?|#))"
    r"\s{0,3}(?:[:#=]|is|was)?\s{0,3}#?\s{0,2}([A-Z]{0,4}[- ]?\d{4,12}(?:[- ]\d{2,6})?)(?![\w])",
    re.IGNORECASE,
)


class GuardMedicalRecordNumberRecognizer(PiiRecognizer):
    """Medical record numbers (``MRN 00123456``), reported also as health information.

    An MRN identifies a patient's chart, so it is health information on its
    own: each one is reported both as ``MEDICAL_RECORD_NUMBER`` and as
    ``MEDICAL_CONDITION``, the coarse kind a policy may act on.
    """

    ENTITIES = ("MEDICAL_RECORD_NUMBER", "MEDICAL_CONDITION")
    KEYWORDS = ("mrn", "medical record", "med rec", "patient id", "patient number",
                "patient no", "patient #", "chart", "hospital n", "hospital #")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _MRN.finditer(view.text):
            value = match.group(1)
            if sum(c.isdigit() for c in value) < 4 or len(set(value)) < 3:
                continue
            start, end = match.span(1)
            yield Hit("MEDICAL_RECORD_NUMBER", start, end, 0.9)
            yield Hit("MEDICAL_CONDITION", start, end, 0.85)


HEALTH_RECOGNIZERS: tuple[type[PiiRecognizer], ...] = (
    GuardMedicalConditionRecognizer,
    GuardMedicalRecordNumberRecognizer,
)
